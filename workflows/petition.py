"""PetitionWorkflow: owns one petition's clock from assignment (交办) to reply (答复).

It decides; activities act. Every transition is one ``record_step`` activity (read model,
timeline and notice outbox in one transaction, deduplicated by step key), so a worker killed at
any point resumes the chain where it was and never sends a slip twice.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        FIND_ROLE_HOLDER,
        RECORD_STEP,
        AcceptRequest,
        CompleteRequest,
        Deadline,
        Notice,
        Person,
        PetitionStart,
        PetitionState,
        RoleLookup,
        StepRecord,
        TimelineEvent,
    )
    from domain.notices import notice_text
    from domain.policy import PlannedStep, StepKind, handling_plan
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

# Events before the unit accepts carry no chain level, even if acceptance races with them.
_BEFORE_CHAIN = (EventKind.REGISTERED, EventKind.ASSIGNED)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Activities talk to the database: keep retrying through an outage, but never back off so far
# that a reminder arrives hours late once the database is back.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@workflow.defn(name="PetitionWorkflow")
class PetitionWorkflow:
    @workflow.init
    def __init__(self, start: PetitionStart) -> None:
        self._start = start
        self._policy = start.policy
        self._state = PetitionState(
            id=start.petition_id,
            unit_id=start.unit_id,
            track=start.track,
            category=start.category,
            stage=Stage.ASSIGNED,
            registered_at=start.registered_at,
            policy_version=start.policy.version,
        )
        self._accept: AcceptRequest | None = None
        self._plan: list[PlannedStep] = []
        # The update handlers answer once the main line has recorded their action in the read
        # model, so a client that reads the lists right after sees what it did.
        self._accept_recorded = False
        self._completion_recorded = False

    # ------------------------------------------------------------------ main line
    @workflow.run
    async def run(self, start: PetitionStart) -> PetitionState:
        self._append(EventKind.REGISTERED, at=start.registered_at)
        receiver = await self._holder(Role.HANDLER)
        await self._record(
            EventKind.ASSIGNED,
            person=receiver,
            notice=(NoticeKind.ASSIGNMENT, "assignment"),
        )

        await workflow.wait_condition(lambda: self._accept is not None)
        accepted_at = self._state.accepted_at
        assert accepted_at is not None  # set by the accept handler
        self._plan = handling_plan(self._policy, start.track, accepted_at)
        self._refresh_deadlines()
        preferred = self._accept.handler_id if self._accept else None
        handler = await self._holder(Role.HANDLER, preferred=preferred)
        self._state.accountable = handler
        await self._record(EventKind.ACCEPTED, person=handler, at=accepted_at)
        self._accept_recorded = True

        for step in self._plan:
            if not await self._sleep_until(step.at):
                break
            await self._take(step)
            if self._completed:
                break

        await workflow.wait_condition(lambda: self._completed)
        await self._record(
            EventKind.COMPLETED,
            person=self._state.accountable,
            at=self._state.completed_at,
            note=self._state.reply,
        )
        self._completion_recorded = True
        # Let the complete handler return its answer before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _take(self, step: PlannedStep) -> None:
        """Carry out one planned moment, looking up who holds the post *now*."""
        if step.kind == StepKind.REMINDER:
            role = self._policy.level(step.level).role
            holder = await self._holder(role)
            if self._completed:
                return
            await self._record(
                EventKind.REMINDER,
                person=holder,
                level=step.level,
                notice=(NoticeKind.REMINDER, step.key),
                note=step.description,
            )
        elif step.kind == StepKind.ESCALATION:
            role = self._policy.level(step.level).role
            holder = await self._holder(role)
            if self._completed:
                return
            self._state.level = step.level
            self._state.accountable = holder
            await self._record(
                EventKind.SUPERVISION,
                person=holder,
                level=step.level,
                notice=(NoticeKind.SUPERVISION, step.key),
                note=step.description,
            )
        else:
            bureau = await self._holder(Role.BUREAU_DISPATCHER)
            if self._completed:
                return
            self._state.overdue = True
            self._state.stage = Stage.OVERDUE
            await self._record(
                EventKind.OVERDUE,
                person=bureau,
                level=self._state.level,
                notice=(NoticeKind.OVERDUE, step.key),
                note=step.description,
            )
        self._refresh_deadlines()

    # ------------------------------------------------------------------ officer actions
    @workflow.update
    async def accept(self, request: AcceptRequest) -> PetitionState:
        """受理: the unit takes the petition; week one of the chain starts now."""
        self._accept = request
        self._state.stage = Stage.HANDLING
        self._state.level = 1
        self._state.accepted_at = workflow.now()
        await workflow.wait_condition(lambda: self._accept_recorded)
        return self._state

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        if self._state.stage != Stage.ASSIGNED:
            raise ApplicationError(
                f"petition {self._state.id} cannot be accepted: it is already {self._state.stage}",
                type="StageConflict",
            )

    @workflow.update
    async def complete(self, request: CompleteRequest) -> PetitionState:
        """办结: the reply is given; every timer and notice of this petition stops."""
        self._state.stage = Stage.REPLIED
        self._state.completed_at = workflow.now()
        self._state.reply = request.reply
        await workflow.wait_condition(lambda: self._completion_recorded)
        return self._state

    @complete.validator
    def _validate_complete(self, request: CompleteRequest) -> None:
        if self._state.stage == Stage.ASSIGNED:
            raise ApplicationError(
                f"petition {self._state.id} cannot be completed before the unit accepts it",
                type="StageConflict",
            )
        if self._state.stage == Stage.REPLIED:
            raise ApplicationError(
                f"petition {self._state.id} is already completed (replied)", type="StageConflict"
            )

    @workflow.query
    def state(self) -> PetitionState:
        return self._state

    # ------------------------------------------------------------------ helpers
    @property
    def _completed(self) -> bool:
        return self._state.stage == Stage.REPLIED

    async def _sleep_until(self, at: datetime) -> bool:
        """Wait for ``at`` or completion, whichever first; False when completed."""
        remaining = at - workflow.now()
        if remaining > timedelta(0) and not self._completed:
            # A timeout is not a failure here: the moment has come, that *is* the escalation.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._completed, timeout=remaining)
        return not self._completed

    async def _holder(self, role: Role, preferred: str | None = None) -> Person:
        person: Person = await workflow.execute_activity(
            FIND_ROLE_HOLDER,
            RoleLookup(
                petition_id=self._state.id,
                unit_id=self._state.unit_id,
                role=role,
                preferred_person_id=preferred,
            ),
            result_type=Person,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return person

    def _next_seq(self) -> int:
        return len(self._state.timeline) + 1

    def _append(
        self,
        kind: EventKind,
        *,
        at: datetime | None = None,
        person: Person | None = None,
        level: int | None = None,
        note: str | None = None,
    ) -> TimelineEvent:
        event = TimelineEvent(
            seq=self._next_seq(),
            at=at or workflow.now(),
            kind=kind,
            level=level if level is not None or kind in _BEFORE_CHAIN else self._state.level,
            role=person.role if person else None,
            person_id=person.person_id if person else None,
            person_name=person.name if person else None,
            note=note,
        )
        self._state.timeline.append(event)
        return event

    async def _record(
        self,
        kind: EventKind,
        *,
        person: Person | None,
        at: datetime | None = None,
        level: int | None = None,
        note: str | None = None,
        notice: tuple[NoticeKind, str] | None = None,
    ) -> None:
        event = self._append(kind, at=at, person=person, level=level, note=note)
        slip = None
        if notice is not None and person is not None:
            notice_kind, key = notice
            slip = Notice(
                key=key,
                kind=notice_kind,
                level=event.level,
                recipient=person,
                text=notice_text(notice_kind, self._state.id, event.level, person, note),
            )
        await workflow.execute_activity(
            RECORD_STEP,
            StepRecord(state=self._state, event=event, notice=slip),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _refresh_deadlines(self) -> None:
        now = workflow.now()
        deadlines = [
            Deadline(
                kind=step.kind.value,
                level=step.level,
                due_at=step.at,
                description=step.description,
                passed=step.at <= now,
            )
            for step in self._plan
            if step.kind != StepKind.REMINDER
        ]
        self._state.deadlines = deadlines
