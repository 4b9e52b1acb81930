"""The step recorder of PetitionWorkflow: who holds a post now, each step's timeline entry and
slips written in one ``record_step`` activity, the deadlines a reader sees, and the search
attributes Temporal's list filters on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        FIND_ROLE_HOLDER,
        RECORD_STEP,
        Deadline,
        Person,
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
# Activities talk to the database: keep retrying through an outage, but never back off so far
# that a reminder arrives hours late once the database is back.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)

# Events before the unit accepts carry no chain level, even if acceptance races with them.
_BEFORE_CHAIN = (EventKind.REGISTERED, EventKind.ASSIGNED, EventKind.TRANSFERRED)


class Recorder:
    """Writes what the workflow decided; holds no state of its own beyond the run's."""

    def __init__(self, run: RunState) -> None:
        self._run = run

    async def holder(self, role: Role, preferred: str | None = None) -> Person:
        """Who holds ``role`` in the petition's unit *now* (people change posts)."""
        state = self._run.state
        person: Person = await workflow.execute_activity(
            FIND_ROLE_HOLDER,
            RoleLookup(
                petition_id=state.id,
                unit_id=state.unit_id or "",
                role=role,
                preferred_person_id=preferred,
            ),
            result_type=Person,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return person

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
        await workflow.execute_activity(
            RECORD_STEP,
            StepRecord(state=state, event=event, notices=slips),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

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
