"""Intake of PetitionWorkflow: the clock from registration (登记) to acceptance (受理) — the
bureau assigns (交办), the unit accepts, each reminded once when its deadline passes — and the
written notice of acceptance (四告知) each round starts with."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.contracts import AcceptanceNotice, Deadline, Person
    from domain.notices import (
        accept_deadline,
        acceptance_statutory_deadline,
        acceptance_told,
        assign_deadline,
        lapsed,
    )
    from domain.plan import StepKind
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

from workflows.petition.recorder import Recorder
from workflows.petition.state import RunState
from workflows.petition.waiting import until


class Intake:
    def __init__(self, run: RunState, recorder: Recorder) -> None:
        self._run = run
        self._recorder = recorder

    async def await_assignment(self) -> None:
        """交办: the bureau's dispatcher is reminded when no unit is named in time."""
        run = self._run
        await self._await_or_remind(
            lambda: run.state.stage != Stage.REGISTERED,
            assign_deadline(run.policy, run.start.registered_at),
            role=Role.BUREAU_DISPATCHER,
            reminder_key="reminder-assign",
        )

    async def hand_over(self) -> None:
        """交办: the unit's first handler gets the slip; the unit head is reminded when the unit
        has not accepted, declined or transferred it within the accept deadline."""
        run, recorder = self._run, self._recorder
        suffix = f"-{run.assignments}" if run.assignments else ""
        run.transferred = False
        assigned_at = run.state.assigned_at or workflow.now()
        receiver = await recorder.holder(Role.HANDLER)
        await recorder.record(
            EventKind.ASSIGNED,
            person=receiver,
            notice=(NoticeKind.ASSIGNMENT, f"assignment{suffix}"),
        )
        run.assignments += 1
        # The statutory limit (信访条例 arts. 21/22) stands beside the county's one-day rule.
        recorder.add_deadline(acceptance_statutory_deadline(run.policy, assigned_at))
        await self._await_or_remind(
            lambda: run.state.stage != Stage.ASSIGNED or run.transferred,
            accept_deadline(run.policy, assigned_at),
            role=Role.UNIT_HEAD,
            reminder_key=f"reminder-accept{suffix}",
        )

    async def _await_or_remind(
        self, done: Callable[[], bool], deadline: Deadline, *, role: Role, reminder_key: str
    ) -> None:
        """Wait for ``done``; when ``deadline`` passes remind the holder of ``role`` once, then
        keep waiting."""
        recorder = self._recorder
        recorder.add_deadline(deadline)
        await until(done, deadline.due_at)
        if not done():
            holder = await recorder.holder(role)
            if not done():
                await recorder.record(
                    EventKind.REMINDER,
                    person=holder,
                    notice=(NoticeKind.REMINDER, reminder_key),
                    note=lapsed(deadline),
                )
            recorder.refresh_deadlines()
            await workflow.wait_condition(done)
        recorder.drop_deadlines(deadline.kind)

    async def tell_acceptance(self, handler: Person) -> None:
        """四告知: in writing, when accepted, the deadline, the leader, handler and phone, and
        the consequences of repeated complaints while it is handled."""
        run, recorder = self._run, self._recorder
        state = run.state
        step = next((s for s in run.plan if s.kind == StepKind.OVERDUE), None)
        assert state.accepted_at is not None and step is not None
        leader = state.owner or await recorder.holder(Role.SUPERVISING_LEADER)
        unit_id = state.unit_id
        assert unit_id is not None
        await recorder.write_document(
            AcceptanceNotice(
                petition_id=state.id,
                unit_id=unit_id,
                accepted_at=state.accepted_at,
                deadline=step.at,
                deadline_reason=step.reason,
                leader=leader,
                handler=handler,
                phase=state.phase,
            )
        )
        await recorder.tell_petitioner(f"acceptance-{state.phase}", acceptance_told(state.phase))
