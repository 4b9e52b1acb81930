"""The step recorder of PetitionWorkflow: who holds a post now, each step's timeline entry and
slips written by ``record_step``, the deadlines a reader sees, and the search attributes
Temporal's list filters on.

Since v3 (``RunState.answers_at_decision``) a step is decided at once and written after: the
workflow appends it to its timeline and starts ``record_step`` for it without waiting, with the
steps of one decision together (受理: its entry, the 告知书 and the petitioner's slip). Writes
may land in any order: the projection keeps the newest state and every entry once, so an
officer's update answers as soon as it is applied. Lookups (who holds a post, the calendar) are
local activities, inside the workflow task; so, since v11, is the writing of a chain step, which
nobody waits for (``record_chain_step``), and since v15 that one local activity also looks up
who holds the step's post (``record_chain_step`` here). Older histories keep their old path:
every step awaited in turn, as plain activities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkdayCalendar
    from domain.contracts import (
        FIND_ROLE_HOLDER,
        PLAN_HANDLING,
        RECORD_CHAIN_STEP,
        RECORD_STEP,
        WORKDAY_CALENDAR,
        WRITE_ACCEPTANCE_NOTICE,
        AcceptanceNotice,
        CalendarRequest,
        ChainLookup,
        ChainStepWritten,
        Deadline,
        Notice,
        Person,
        PlannedSteps,
        PlanRequest,
        RoleLookup,
        StepRecord,
        TimelineEvent,
    )
    from domain.lifecycle import needs_calendar, slips_for
    from domain.notice_delivery import StepWritten
    from domain.plan import StepKind
    from domain.policy import BEIJING
    from domain.vocabulary import EventKind, NoticeKind, Role, Stage

from workflows.petition.delivery import Deliveries
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
_UNSET = object()


@dataclass
class _Step:
    """A step decided and not yet written: its timeline entry and its slips, and the documents
    decided with it."""

    event: TimelineEvent
    notices: list[Notice]
    documents: list[AcceptanceNotice] = field(default_factory=list)
    planned_at: datetime | None = None  # a step of the plan: its planned moment


class Recorder:
    """Writes what the workflow decided; holds no state of its own beyond the run's."""

    def __init__(self, run: RunState, deliveries: Deliveries | None = None) -> None:
        self._run = run
        # Sends the notices written (since the patch ``deliveries-in-workflow``); None: before.
        self._deliveries = deliveries
        # Steps of the decision under way (not yet handed to record_step); record_step started.
        self._pending: list[_Step] = []
        self._writing: list[workflow.ActivityHandle[Any]] = []
        # The search attributes last set: a step that changes none sets none.
        self._attributes: dict[str, Any] = {}

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

    async def holder(
        self, role: Role, preferred: str | None = None, *, at_bureau: bool = False
    ) -> Person:
        """Who holds ``role`` in the petition's unit (or at the bureau) *now* (people change
        posts)."""
        state = self._run.state
        lookup = RoleLookup(
            petition_id=state.id,
            unit_id=state.unit_id or "",
            role=role,
            preferred_person_id=preferred,
            at_bureau=at_bureau,
        )
        return await self._look_up(FIND_ROLE_HOLDER, lookup, Person)

    async def calendar(self) -> WorkdayCalendar | None:
        """The working days for the intake and aftercare windows, when the unit's policy counts
        them on a production clock (since the patch ``WORKING_DAY_WINDOWS``); None otherwise,
        without a lookup."""
        if not (self._run.working_windows and needs_calendar(self._run.policy)):
            return None
        return await self._working_days(workflow.now().astimezone(BEIJING).year)

    async def plan_calendar(self, accepted_at: datetime) -> WorkdayCalendar | None:
        """The working days a round accepted at ``accepted_at`` is planned with (since the patch
        ``PLAN_IN_WORKFLOW``), when its policy counts them; None otherwise, without a lookup."""
        if not needs_calendar(self._run.policy):
            return None
        return await self._working_days(accepted_at.astimezone(BEIJING).year)

    async def _working_days(self, year: int) -> WorkdayCalendar:
        """The working days of the years from ``year``: looked up once, and again only when a
        later year needs them; the windows and the plans share the answer."""
        run = self._run
        if run.calendar is None or run.calendar[0] != year:
            request = CalendarRequest(first_year=year)
            run.calendar = (year, await self._look_up(WORKDAY_CALENDAR, request, WorkdayCalendar))
        return run.calendar[1]

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
        more: bool = False,
        ask: str | None = None,
        also: Sequence[tuple[Person, str]] = (),
        told: tuple[str, str] | None = None,
        planned_at: datetime | None = None,
        locally: bool = False,
    ) -> None:
        """One step: its timeline entry and its slips, projected once (keyed by step). With
        ``more`` (v3), the decision goes on and the step is written with the next one;
        ``ask`` words the slip's request for the moment (domain.notices.notice_text); ``also``
        get the slip too, each under its own key, each person once; ``told`` (key, message):
        the petitioner's 告知 of this step, a slip with it and no entry of its own; ``planned_at``:
        the moment the plan set for this step (the escalation-lag metric's start); ``locally``:
        nobody waits for the workflow task (a timer's step), so the step is written inside it
        (the caller decides it from the patches ``CHAIN_WRITTEN_LOCALLY`` and
        ``TIMED_STEPS_WRITTEN_LOCALLY``)."""
        state = self._run.state
        event = self._append(kind, at=at, person=person, level=level, note=note)
        slips = []
        if told is not None:
            slips = self._slips(
                NoticeKind.PETITIONER,
                f"petitioner-{told[0]}",
                self._petitioner(),
                level=None,
                note=told[1],
            )
        if notice is not None and person is not None:
            notice_kind, key = notice
            slips += slips_for(
                notice_kind,
                key,
                petition_id=state.id,
                recipient=person,
                owner=state.owner,
                level=event.level,
                note=note,
                accept_days=self._run.policy.accept_days,
                ask=ask,
                also=also,
            )
        self.upsert_search_attributes()
        if self._run.answers_at_decision:
            self._pending.append(_Step(event, slips, planned_at=planned_at))
            if not more:
                self.flush(locally=locally)
            return
        await workflow.execute_activity(
            RECORD_STEP,
            StepRecord(
                state=state,
                event=event,
                notices=slips,
                planned={event.seq: planned_at} if planned_at is not None else {},
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _slips(
        self,
        kind: NoticeKind,
        key: str,
        person: Person,
        *,
        level: int | None,
        note: str | None,
        ask: str | None = None,
        owner: Person | None = None,
    ) -> list[Notice]:
        """``person``'s slip of ``kind`` under ``key`` (and ``owner``'s copy, if any)."""
        return slips_for(
            kind,
            key,
            petition_id=self._run.state.id,
            recipient=person,
            owner=owner,
            level=level,
            note=note,
            accept_days=self._run.policy.accept_days,
            ask=ask,
        )

    async def write_document(self, notice: AcceptanceNotice) -> None:
        """四告知's written notice, after the steps decided before it."""
        if self._run.answers_at_decision:
            if self._pending:  # with the steps of its decision, written together
                self._pending[-1].documents.append(notice)
                return
            # Nothing waits: it goes at once, with the last step again (written already; its
            # projection is idempotent).
            self._pending.append(_Step(self._run.state.timeline[-1], [], [notice]))
            self.flush()
            return
        await workflow.execute_activity(
            WRITE_ACCEPTANCE_NOTICE,
            notice,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def tell_petitioner(self, key: str, message: str) -> None:
        """告知: a slip to the petitioner; their contact details stay in the store."""
        await self.record(
            EventKind.NOTIFIED,
            person=self._petitioner(),
            notice=(NoticeKind.PETITIONER, f"petitioner-{key}"),
            note=message,
        )

    def _petitioner(self) -> Person:
        state = self._run.state
        return Person(
            person_id=f"petitioner:{state.id}",
            name="信访人",
            title="信访人",
            role=Role.PETITIONER,
            unit_id=state.unit_id or "",
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

    # ------------------------------------------------------------------ writing (v3)
    def flush(self, *, locally: bool = False) -> None:
        """Start one ``record_step`` for the steps waiting, with the petition's state as it is
        now (without its timeline: the steps carry their own entries) and the documents
        decided with them. Started, not awaited: the decision does not wait for the database.
        Started by the code that decided, never by a coroutine of its own, so the order of
        commands is the code's order on every replay.

        ``locally``: as a local activity, which the workflow task waits for. Only for a step
        nobody waits on (an officer's update answers when its task completes): it spares the
        activity's three events and the workflow task that would follow it, the most of what a
        worker replays when the petition is no longer in its cache. Run again after a crash,
        as an activity would be retried: the projection is idempotent."""
        if not self._pending:
            return
        steps, self._pending = self._pending, []
        events = {s.event.seq: s.event for s in steps}  # a document alone repeats a step
        *earlier, last = events.values()
        slips = [n for s in steps for n in s.notices]
        deliveries = self._deliveries if slips else None
        record = StepRecord(
            state=self._run.state.model_copy(update={"timeline": []}),
            event=last,
            earlier=earlier,
            notices=slips,
            documents=[d for s in steps for d in s.documents],
            planned={s.event.seq: s.planned_at for s in steps if s.planned_at is not None},
            routes_back=deliveries is not None,
            outboxed=deliveries is not None and self._run.outboxes_sends,
            signing_watched=deliveries is not None and self._run.outbox_watches_signing,
        )
        writing: workflow.ActivityHandle[Any]
        if locally:
            writing = _write_locally(record)
        else:
            writing = workflow.start_activity(
                RECORD_STEP,
                record,
                result_type=StepWritten if deliveries else None,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        self._writing = [w for w in self._writing if not w.done()] + [writing]
        if deliveries is not None:  # its slips sent once written, in the background
            deliveries.after(_routes_of(writing) if locally else writing)

    async def record_chain_step(
        self,
        kind: EventKind,
        look_up: ChainLookup,
        *,
        level: int | None,
        note: str | None,
        planned_at: datetime,
    ) -> StepRecord:
        """A chain step as one local activity (since the patch ``chain-step-one-activity``):
        its entry goes on the timeline at once, without a person; ``record_chain_step`` looks
        up who holds ``look_up.role`` (and the posts told) now, words the slips, writes the
        step and answers with the record it wrote, whose entry then replaces the one without a
        person. Returns that record (its state names the accountable holder of an escalation).

        Before, a step took a lookup and then the record, two local activities: each a marker
        in the history and an activation on every replay, and the replays of petitions no
        longer cached are most of what a worker with many open does (README, "Scaling out")."""
        self.flush(locally=True)  # steps waiting go first, as they went with the step before
        state = self._run.state
        event = self._append(kind, at=None, person=None, level=level, note=note)
        self.upsert_search_attributes()
        deliveries = self._deliveries
        record = StepRecord(
            state=state.model_copy(update={"timeline": []}),
            event=event,
            planned={event.seq: planned_at},
            routes_back=deliveries is not None,
            outboxed=deliveries is not None and self._run.outboxes_sends,
            signing_watched=deliveries is not None and self._run.outbox_watches_signing,
            look_up=look_up,
        )
        writing = _write_locally(record)
        self._writing = [w for w in self._writing if not w.done()] + [writing]
        if deliveries is not None:  # its slips sent once written, in the background
            deliveries.after(_routes_of(writing))
        answer: ChainStepWritten = await writing
        place = next(n for n, entry in enumerate(state.timeline) if entry is event)
        state.timeline[place] = answer.record.event
        return answer.record

    async def written(self) -> None:
        """Before the workflow closes: every step written."""
        self.flush()
        for writing in self._writing:
            await writing

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
        """Temporal's list filters: set when a value changed (since v3), at every step before."""
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
        if self._run.answers_at_decision:
            values = {u.key.name: getattr(u, "value", None) for u in updates}
            updates = [
                u for u in updates if self._attributes.get(u.key.name, _UNSET) != values[u.key.name]
            ]
            self._attributes.update(values)
            if not updates:
                return
        workflow.upsert_search_attributes(updates)


def _write_locally(record: StepRecord) -> workflow.ActivityHandle[Any]:
    """``record_chain_step`` for ``record``, a local activity inside this workflow task."""
    return workflow.start_local_activity(
        RECORD_CHAIN_STEP,
        record,
        result_type=ChainStepWritten,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=ACTIVITY_RETRY,
    )


async def _routes_of(writing: workflow.ActivityHandle[ChainStepWritten]) -> StepWritten | None:
    """What ``record_step`` would have answered, from ``record_chain_step``'s answer."""
    return (await writing).written
