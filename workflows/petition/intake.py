"""Intake of PetitionWorkflow: the clock from registration (登记) to acceptance (受理) — the
bureau assigns (交办), the unit accepts, each reminded once when its deadline passes and, at
the statutory limit, supervised (督办) — and the written notice of acceptance (四告知) each
round starts with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.contracts import AcceptanceNotice, Deadline, Person
    from domain.notices import (
        EXPIRED_REMINDER,
        UNACCEPTED_SUPERVISION,
        UNASSIGNED_SUPERVISION,
        accept_deadline,
        acceptance_statutory_deadline,
        acceptance_told,
        assign_deadline,
        assign_statutory_deadline,
        lapsed,
    )
    from domain.plan import StepKind
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

from workflows.petition.recorder import Recorder
from workflows.petition.state import RunState
from workflows.petition.waiting import until


@dataclass(frozen=True)
class _Limit:
    """A statutory limit (信访工作条例 arts. 21/22) and whom its 督办单 reaches when it passes
    with the step still undone: posts as (role, at the bureau)."""

    deadline: Deadline
    recipients: tuple[tuple[Role, bool], ...]
    key: str
    ask: str
    unaccepted: bool  # the petition is then 逾期未受理


class Intake:
    def __init__(self, run: RunState, recorder: Recorder) -> None:
        self._run = run
        self._recorder = recorder

    async def await_assignment(self) -> None:
        """交办: the bureau's dispatcher is reminded when no unit is named in time; at the
        statutory limit the bureau's chief is told (督办)."""
        run, recorder = self._run, self._recorder
        registered_at = run.start.registered_at
        limit = None
        if run.statutory_intake:
            limit = _Limit(
                assign_statutory_deadline(run.policy, registered_at),
                ((Role.UNIT_HEAD, True),),
                "supervision-assign",
                UNASSIGNED_SUPERVISION,
                unaccepted=False,
            )
        await self._await_or_remind(
            lambda: run.state.stage != Stage.REGISTERED,
            assign_deadline(run.policy, registered_at, await recorder.calendar()),
            role=Role.BUREAU_DISPATCHER,
            reminder_key="reminder-assign",
            limit=limit,
        )
        recorder.drop_deadlines("assign_statutory")

    async def hand_over(self, *, locally: bool = False) -> None:
        """交办: the unit's handler gets the slip; the unit head is reminded when the unit
        has not accepted, declined or transferred it within the accept deadline, and told with
        the bureau (督办) at the statutory limit. ``locally``: the 交办 is written inside this
        workflow task (nobody waits for it: the registration's)."""
        run, recorder = self._run, self._recorder
        suffix = f"-{run.assignments}" if run.assignments else ""
        run.transferred = False
        assigned_at = run.state.assigned_at or workflow.now()
        # The handler the unit has already named, if it accepted before this slip (patched).
        named = run.accept.handler_id if run.accept and run.assignment_to_handler else None
        receiver = await recorder.holder(Role.HANDLER, preferred=named)
        run.assigned_to = receiver.person_id
        # The statutory limit (信访条例 arts. 21/22) stands beside the county's one-day rule.
        statutory = acceptance_statutory_deadline(run.policy, assigned_at)
        accept = accept_deadline(run.policy, assigned_at, await recorder.calendar())
        if run.statutory_intake:
            # Pending before the 交办 is recorded, so its step (and PetitionDueAt) shows them.
            recorder.add_deadline(statutory)
            recorder.add_deadline(accept)
        await recorder.record(
            EventKind.ASSIGNED,
            person=receiver,
            notice=(NoticeKind.ASSIGNMENT, f"assignment{suffix}"),
            locally=locally,
        )
        run.assignments += 1
        recorder.add_deadline(statutory)
        limit = None
        if run.statutory_intake:
            limit = _Limit(
                statutory,
                ((Role.UNIT_HEAD, False), (Role.BUREAU_DISPATCHER, False)),
                f"supervision-accept{suffix}",
                UNACCEPTED_SUPERVISION,
                unaccepted=True,
            )
        await self._await_or_remind(
            lambda: run.state.stage != Stage.ASSIGNED or run.transferred,
            accept,
            role=Role.UNIT_HEAD,
            reminder_key=f"reminder-accept{suffix}",
            limit=limit,
        )

    async def _await_or_remind(
        self,
        done: Callable[[], bool],
        deadline: Deadline,
        *,
        role: Role,
        reminder_key: str,
        limit: _Limit | None = None,
    ) -> None:
        """Wait for ``done``; when ``deadline`` passes remind the holder of ``role`` once (the
        slip says it is overdue), then keep waiting, supervised at the ``limit`` if any."""
        recorder = self._recorder
        recorder.add_deadline(deadline)
        await until(done, deadline.due_at)
        if not done():
            holder = await recorder.holder(role)
            if not done():
                if limit is not None:  # the step shows its deadline passed (patched)
                    # and the limit it is now waiting for (the unit's is pending already).
                    recorder.add_deadline(limit.deadline)
                await recorder.record(
                    EventKind.REMINDER,
                    person=holder,
                    notice=(NoticeKind.REMINDER, reminder_key),
                    note=lapsed(deadline),
                    ask=EXPIRED_REMINDER,
                    planned_at=deadline.due_at,
                    locally=self._run.timed_written_locally,  # the timer's: nobody waits
                )
            recorder.refresh_deadlines()
            if limit is not None:
                await self._supervise(limit, done)
            await workflow.wait_condition(done)
        recorder.drop_deadlines(deadline.kind)

    async def _supervise(self, limit: _Limit, done: Callable[[], bool]) -> None:
        """At the statutory limit, still undone: a 督办单 to each post of ``limit`` (once per
        person: a vacant post falls to the bureau's dispatcher), the step showing the limit
        passed, and the petition flagged 逾期未受理 when it is the unit's."""
        run, recorder = self._run, self._recorder
        await until(done, limit.deadline.due_at)
        if done():
            return
        people: dict[str, tuple[Role, Person]] = {}
        for role, at_bureau in limit.recipients:
            person = await recorder.holder(role, at_bureau=at_bureau)
            people.setdefault(person.person_id, (role, person))
        if done():
            return
        if limit.unaccepted:
            run.state.unaccepted_overdue = True
        recorder.refresh_deadlines()
        # One step on the timeline (the first post's), a slip of its own for each post.
        (role, person), *others = people.values()
        await recorder.record(
            EventKind.INTAKE_OVERDUE,
            person=person,
            notice=(NoticeKind.SUPERVISION, f"{limit.key}-{role.value}"),
            note=lapsed(limit.deadline),
            ask=limit.ask,
            also=[(other, f"{limit.key}-{post.value}") for post, other in others],
            locally=run.timed_written_locally,  # the timer's: nobody waits
        )

    async def tell_acceptance(self, handler: Person) -> None:
        """四告知: in writing, when accepted, the deadline, the leader, handler and phone, and
        the consequences of repeated complaints while it is handled."""
        run, recorder = self._run, self._recorder
        state = run.state
        step = next((s for s in run.plan if s.kind == StepKind.OVERDUE), None)
        assert state.accepted_at is not None and step is not None
        # Since the patch, the writer names the supervising leader: a local activity here
        # would hold the acceptance's answer until it returned.
        leader = state.owner
        if leader is None and not run.writer_finds_leader:
            leader = await recorder.holder(Role.SUPERVISING_LEADER)
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
                # 包案领导 only when a leader owns the case (the unit's leader in charge else).
                leader_owns_case=state.owner is not None,
            )
        )
        await recorder.tell_petitioner(f"acceptance-{state.phase}", acceptance_told(state.phase))
