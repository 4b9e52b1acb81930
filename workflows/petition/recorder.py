"""The step recorder of PetitionWorkflow: who holds a post now, each step's timeline entry and
slips written by ``record_step``, the deadlines a reader sees, and the search attributes
Temporal's list filters on.

Since v3 (``RunState.answers_at_decision``) a step is decided at once and written after: the
workflow appends it to its timeline and queues it; one projector writes the queue in order, a
run of consecutive steps in one ``record_step`` carrying those steps (not the whole timeline).
An officer's update therefore answers as soon as it is applied, whatever the database is
doing. Lookups (who holds a post, the round's plan) are local activities: they run inside the
workflow task, without a round trip through the Temporal server. Histories of older workflows
keep their old path: every step awaited in turn, as plain activities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        FIND_ROLE_HOLDER,
        PLAN_HANDLING,
        RECORD_STEP,
        WRITE_ACCEPTANCE_NOTICE,
        AcceptanceNotice,
        Deadline,
        Notice,
        Person,
        PlannedSteps,
        PlanRequest,
        RoleLookup,
        StepRecord,
        TimelineEvent,
    )
    from domain.lifecycle import slips_for
    from domain.plan import StepKind
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

from workflows.petition.state import RunState

# Search attributes (registered when the dev server starts): Temporal's own list and Web UI
# filter petitions by them. Never personal data: these values are not encrypted.
STAGE_ATTR = SearchAttributeKey.for_keyword("PetitionStage")
LEVEL_ATTR = SearchAttributeKey.for_int("PetitionLevel")
UNIT_ATTR = SearchAttributeKey.for_keyword("PetitionUnit")
OVERDUE_ATTR = SearchAttributeKey.for_bool("PetitionOverdue")
DUE_ATTR = SearchAttributeKey.for_datetime("PetitionDueAt")
CATEGORY_ATTR = SearchAttributeKey.for_keyword("PetitionCategory")
SEARCH_ATTRIBUTES = (STAGE_ATTR, LEVEL_ATTR, UNIT_ATTR, OVERDUE_ATTR, DUE_ATTR, CATEGORY_ATTR)

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# A lookup reads a few rows; the workflow task waits for it, so give up an attempt early.
LOCAL_TIMEOUT = timedelta(seconds=10)
# Activities talk to the database: keep retrying through an outage, but never back off so far
# that a reminder arrives hours late once the database is back.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)

# Events before the unit accepts carry no chain level, even if acceptance races with them.
_BEFORE_CHAIN = (EventKind.REGISTERED, EventKind.ASSIGNED, EventKind.TRANSFERRED)

_Result = TypeVar("_Result")


@dataclass
class _Step:
    """A step decided and not yet written: its timeline entry and its slips."""

    event: TimelineEvent
    notices: list[Notice]


class Recorder:
    """Writes what the workflow decided; holds no state of its own beyond the run's."""

    def __init__(self, run: RunState) -> None:
        self._run = run
        # Steps and documents decided and not yet written, in the order they were decided.
        self._pending: list[_Step | AcceptanceNotice] = []
        self._closing = False

    async def _look_up(self, name: str, arg: Any, result_type: type[_Result]) -> _Result:
        """A lookup: a local activity since v3, a plain one on the old path."""
        result: _Result
        if self._run.answers_at_decision:
            result = await workflow.execute_local_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        else:
            result = await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        return result

    async def holder(self, role: Role, preferred: str | None = None) -> Person:
        """Who holds ``role`` in the petition's unit *now* (people change posts)."""
        state = self._run.state
        lookup = RoleLookup(
            petition_id=state.id,
            unit_id=state.unit_id or "",
            role=role,
            preferred_person_id=preferred,
        )
        return await self._look_up(FIND_ROLE_HOLDER, lookup, Person)

    async def plan(self, request: PlanRequest) -> PlannedSteps:
        """The round's plan (it counts working days from the holiday tables)."""
        return await self._look_up(PLAN_HANDLING, request, PlannedSteps)

    async def record(
        self,
        kind: EventKind,
        *,
        person: Person | None,
        at: datetime | None = None,
        level: int | None = None,
        note: str | None = None,
        notice: tuple[NoticeKind, str] | None = None,
    ) -> None:
        """One step: its timeline entry and its slips, projected once (keyed by step)."""
        state = self._run.state
        event = self._append(kind, at=at, person=person, level=level, note=note)
        slips = []
        if notice is not None and person is not None:
            notice_kind, key = notice
            slips = slips_for(
                notice_kind,
                key,
                petition_id=state.id,
                recipient=person,
                owner=state.owner,
                level=event.level,
                note=note,
                accept_days=self._run.policy.accept_days,
            )
        self.upsert_search_attributes()
        if self._run.answers_at_decision:
            self._pending.append(_Step(event, slips))
            return
        await workflow.execute_activity(
            RECORD_STEP,
            StepRecord(state=state, event=event, notices=slips),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def write_document(self, notice: AcceptanceNotice) -> None:
        """四告知's written notice, after the steps decided before it."""
        if self._run.answers_at_decision:
            self._pending.append(notice)
            return
        await self._write(notice)

    async def _write(self, notice: AcceptanceNotice) -> None:
        await workflow.execute_activity(
            WRITE_ACCEPTANCE_NOTICE,
            notice,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    # ------------------------------------------------------------------ the projector (v3)
    async def project(self) -> None:
        """Write what was decided, in order, until ``close``: consecutive steps in one
        ``record_step`` with the petition's state as it is now (without its timeline: the
        steps carry their own entries), a document on its own."""
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._closing)
            if not self._pending:
                return
            head = self._pending.pop(0)
            if isinstance(head, AcceptanceNotice):
                await self._write(head)
                continue
            steps = [head]
            while self._pending and isinstance(nxt := self._pending[0], _Step):
                steps.append(nxt)
                self._pending.pop(0)
            record = StepRecord(
                state=self._run.state.model_copy(update={"timeline": []}),
                event=steps[-1].event,
                earlier=[s.event for s in steps[:-1]],
                notices=[n for s in steps for n in s.notices],
            )
            await workflow.execute_activity(
                RECORD_STEP,
                record,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )

    def close(self) -> None:
        """The workflow is about to return: the projector writes what is left, then stops."""
        self._closing = True

    async def tell_petitioner(self, key: str, message: str) -> None:
        """告知: a slip to the petitioner; their contact details stay in the store."""
        state = self._run.state
        petitioner = Person(
            person_id=f"petitioner:{state.id}",
            name="信访人",
            title="信访人",
            role=Role.PETITIONER,
            unit_id=state.unit_id or "",
        )
        await self.record(
            EventKind.NOTIFIED,
            person=petitioner,
            notice=(NoticeKind.PETITIONER, f"petitioner-{key}"),
            note=message,
        )

    def _append(
        self,
        kind: EventKind,
        *,
        at: datetime | None,
        person: Person | None,
        level: int | None,
        note: str | None,
    ) -> TimelineEvent:
        state = self._run.state
        event = TimelineEvent(
            seq=len(state.timeline) + 1,
            at=at or workflow.now(),
            kind=kind,
            level=level if level is not None or kind in _BEFORE_CHAIN else state.level,
            role=person.role if person else None,
            person_id=person.person_id if person else None,
            person_name=person.name if person else None,
            note=note,
        )
        state.timeline.append(event)
        return event

    # ------------------------------------------------------------------ deadlines
    def add_deadline(self, deadline: Deadline) -> None:
        self._run.other_deadlines[deadline.kind] = deadline
        self.refresh_deadlines()

    def drop_deadlines(self, *kinds: str) -> None:
        for kind in kinds:
            self._run.other_deadlines.pop(kind, None)

    def refresh_deadlines(self) -> None:
        """What a reader sees pending: this round's plan (reminders aside) and the others."""
        run = self._run
        state = run.state
        if state.stage in (Stage.DECLINED, Stage.WITHDRAWN):
            # Nothing is pending any more, whatever the main line was about to wait for.
            state.deadlines = []
            return
        now = workflow.now()
        open_round = run.handling
        planned = [
            Deadline(
                kind=step.kind.value,
                level=step.level,
                due_at=step.at,
                description=step.description,
                reason=step.reason,
                passed=step.at <= now or run.key(step) in run.taken,
            )
            for step in run.plan
            if step.kind != StepKind.REMINDER and open_round
        ]
        others = [
            d.model_copy(update={"passed": d.due_at <= now}) for d in run.other_deadlines.values()
        ]
        state.deadlines = sorted(planned + others, key=lambda d: d.due_at)

    def upsert_search_attributes(self) -> None:
        state = self._run.state
        updates: list[SearchAttributeUpdate[Any]] = [
            STAGE_ATTR.value_set(state.stage.value),
            LEVEL_ATTR.value_set(state.level or 0),
            OVERDUE_ATTR.value_set(state.overdue),
            CATEGORY_ATTR.value_set(state.category.value),
        ]
        if state.unit_id:
            updates.append(UNIT_ATTR.value_set(state.unit_id))
        due = next((d.due_at for d in state.deadlines if not d.passed), None)
        updates.append(DUE_ATTR.value_set(due) if due else DUE_ATTR.value_unset())
        workflow.upsert_search_attributes(updates)
