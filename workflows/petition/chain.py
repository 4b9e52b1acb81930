"""The handling chain (办理链, 三周工作法) of one round: its plan of reminders, escalations and
the overdue moment, taken one by one, and re-planned when an extension (延期) moves it.

Shaped like samples-python's ``updatable_timer``: a small class beside the workflow whose
deadline can move; the workflow calls ``run`` on its main line and ``replan`` from an update.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.contracts import ChainLookup, Person, PlanRequest
    from domain.lifecycle import plan_round
    from domain.notices import extension_approval
    from domain.plan import PlannedStep, StepKind
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

from workflows.petition.recorder import Recorder
from workflows.petition.state import RunState

# issue 10: the overdue notice reaches the county leaders of the chain, not the bureau alone.
OVERDUE_TO_COUNTY_LEADERS = "overdue-to-county-leaders"

# What each planned moment records on the timeline and which slip it sends.
_RECORDED = {
    StepKind.REMINDER: (EventKind.REMINDER, NoticeKind.REMINDER),  # 催办单
    StepKind.ESCALATION: (EventKind.SUPERVISION, NoticeKind.SUPERVISION),  # 督办单
    StepKind.OVERDUE: (EventKind.OVERDUE, NoticeKind.OVERDUE),  # 逾期通报
}


class HandlingChain:
    """The round's plan and the steps taken of it live in the run's state; this class moves
    them on."""

    def __init__(self, run: RunState, recorder: Recorder) -> None:
        self._run = run
        self._recorder = recorder

    async def replan(self) -> None:
        """Plan the round from its acceptance, moved by an approved extension if any; a
        waiting ``run`` wakes up and reads the new plan."""
        run = self._run
        accepted_at = run.state.accepted_at
        assert accepted_at is not None
        extension = run.state.extension
        approved = extension is not None and extension.approved is True
        note = None
        if approved and extension is not None and extension.approver is not None:
            decided = extension.decided_at or workflow.now()
            note = extension_approval(extension.approver, decided)
        request = PlanRequest(
            policy=run.policy,
            track=run.state.track,
            phase=run.state.phase,
            accepted_at=accepted_at,
            extension_days=extension.days if approved and extension else 0,
            extension_note=note,
            extended_at=extension.decided_at if approved and extension else None,
        )
        if run.plans_in_workflow:
            calendar = await self._recorder.plan_calendar(accepted_at)
            run.plan = plan_round(request, calendar)
        else:
            run.plan = (await self._recorder.plan(request)).steps
        run.plan_version += 1
        self._recorder.refresh_deadlines()

    async def run(self) -> None:
        """Reminders, escalations and the overdue moment, re-read whenever the plan moves (an
        approved extension) and stopped by the reply or a withdrawal."""
        run = self._run
        while run.state.stage in (Stage.HANDLING, Stage.OVERDUE):
            step = next((s for s in run.plan if run.key(s) not in run.taken), None)
            version = run.plan_version
            if step is None:
                await workflow.wait_condition(self._stopped_or_replanned(version))
                continue
            remaining = step.at - workflow.now()
            if remaining > timedelta(0):
                # A timeout is not a failure here: the moment has come, that *is* the step.
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._stopped_or_replanned(version), timeout=remaining
                    )
            if not run.handling:
                return
            if run.plan_version != version:
                continue
            run.taken.add(run.key(step))
            await self._take(step)

    def _stopped_or_replanned(self, version: int) -> Callable[[], bool]:
        run = self._run
        return lambda: not run.handling or run.plan_version != version

    async def _take(self, step: PlannedStep) -> None:
        """Carry out one planned moment, looking up who holds the post *now*."""
        run, recorder = self._run, self._recorder
        key = run.key(step)
        overdue = step.kind == StepKind.OVERDUE
        # The overdue notice goes to the bureau (跟踪督查); the others to the level's post.
        role = Role.BUREAU_DISPATCHER if overdue else run.policy.level(step.level).role
        if run.chain_step_one_activity:
            await self._take_in_one(step, key, role)
            return
        holder = await recorder.holder(role)
        told: list[Person] = []
        if overdue and run.patched(OVERDUE_TO_COUNTY_LEADERS):
            told = await self._county_leaders()
        if run.handling:
            if step.kind == StepKind.ESCALATION:
                run.state.accountable = holder
            self._climb(step)
            event, slip = _RECORDED[step.kind]
            await recorder.record(
                event,
                person=holder,
                level=None if overdue else step.level,
                notice=(slip, key),
                note=step.description,
                also=[(person, f"{key}:{person.role}") for person in told],
                planned_at=step.at,
                locally=run.chain_written_locally,  # a timer's step: nobody waits for it
            )
        recorder.refresh_deadlines()

    async def _take_in_one(self, step: PlannedStep, key: str, role: Role) -> None:
        """``_take`` since the patch ``chain-step-one-activity``: the step is decided without
        waiting, and its one local activity looks up who holds ``role`` (and the county leaders
        told of an overdue) as it writes it."""
        run, recorder = self._run, self._recorder
        overdue = step.kind == StepKind.OVERDUE
        escalation = step.kind == StepKind.ESCALATION
        self._climb(step)
        event, slip = _RECORDED[step.kind]
        told = self._county_leader_roles() if overdue else []
        look_up = ChainLookup(
            role=role,
            told=told,
            notice=slip,
            key=key,
            accept_days=run.policy.accept_days,
            accountable=escalation,
        )
        written = await recorder.record_chain_step(
            event,
            look_up,
            level=None if overdue else step.level,
            note=step.description,
            planned_at=step.at,
        )
        if escalation:  # the holder the step was written with
            run.state.accountable = written.state.accountable
        recorder.refresh_deadlines()

    def _climb(self, step: PlannedStep) -> None:
        """What a step changes before it is recorded: an escalation's level (the chain climbs:
        the next level's post holder becomes accountable, 督办), an overdue's stage; and, since
        the patch ``due-moves-with-the-step``, the deadlines, before the record sets
        PetitionDueAt: the step taken is passed now."""
        run = self._run
        if step.kind == StepKind.ESCALATION:
            run.state.level = step.level
        elif step.kind == StepKind.OVERDUE:
            run.state.overdue = True
            run.state.stage = Stage.OVERDUE
        if run.due_moves_with_step:
            self._recorder.refresh_deadlines()

    async def _county_leaders(self) -> list[Person]:
        """Who else the overdue notice (逾期通报) goes to, whoever holds the posts now."""
        return [await self._recorder.holder(role) for role in self._county_leader_roles()]

    def _county_leader_roles(self) -> list[Role]:
        """The unit's county contact leader and, per the policy, the county principal leader."""
        roles = [Role.COUNTY_CONTACT_LEADER]
        if self._run.policy.overdue_to_principal_leader:
            roles.append(Role.COUNTY_PRINCIPAL_LEADER)
        return roles
