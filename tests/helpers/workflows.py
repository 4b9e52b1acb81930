"""Petitions as workflow cases: started the way the API starts them, driven through their
updates, and time skipped only once they have settled."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.starter import ensure_started, start_input
from domain.contracts import AcceptRequest, CompleteRequest, PetitionState
from domain.notice_delivery import DELIVER_NOTICE, DELIVER_NOTICES
from domain.vocabulary import Role
from store import petitions
from store.models import TimelineEvent
from tests.helpers.store import register_petition
from tests.helpers.waiting import eventually
from workflows.petition import PetitionWorkflow
from workflows.petition.recorder import DUE_ATTR

DAY = timedelta(days=1)
_OPENS = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
)
_CLOSES = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)


# One send, and (the patch deliveries-batched) a step's sends as one activity.
_SEND_ACTIVITIES = (DELIVER_NOTICE, DELIVER_NOTICES)


def _sends(events: Sequence[HistoryEvent]) -> set[int]:
    """The events of the notices' sends (scheduled and closed), which the petition's workflow
    runs in the background (the patch deliveries-in-workflow) and which may retry for a day
    while the mail server is away: no follow-up of an update, the case is quiet without them
    (as it was when each notice had a workflow of its own)."""
    scheduled = {
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name in _SEND_ACTIVITIES
    }
    closed = {
        e.event_id for e in events if e.event_type in _CLOSES and _closed_activity(e) in scheduled
    }
    return scheduled | closed


def _closed_activity(event: HistoryEvent) -> int:
    for attributes in (
        event.activity_task_completed_event_attributes,
        event.activity_task_failed_event_attributes,
        event.activity_task_timed_out_event_attributes,
        event.activity_task_canceled_event_attributes,
    ):
        if attributes.scheduled_event_id:
            return attributes.scheduled_event_id
    return 0


@dataclass
class Case:
    """One petition under test, with its worker's pieces."""

    env: WorkflowEnvironment
    settings: Settings
    sessions: async_sessionmaker[Any]
    handle: WorkflowHandle[Any, Any]

    async def state(self) -> PetitionState:
        result: PetitionState = await self.handle.query(PetitionWorkflow.state)
        return result

    async def until(self, predicate: Any) -> PetitionState:
        return await eventually(self.state, predicate)

    async def until_climbed(self, level: int, role: Role) -> PetitionState:
        """The state once the chain's step to ``level`` is written, not only decided: the level
        climbs as the step is decided, the holder of ``role`` is named accountable once the
        step's local activity answers, and a query can fall between the two."""
        return await self.until(
            lambda s: s.level == level and s.accountable is not None and s.accountable.role == role
        )

    async def written(self) -> None:
        """Wait until the read model holds every step the workflow has decided: updates
        answer before their steps are written (the recorder's writes follow within
        moments), and documents are written in order with the steps. Each step is counted
        on the timeline, its slips written with it: steps are written by activities that may
        land in any order, so a later step's state (``projected_seq``) can be in before an
        earlier step's entry and slips (the reply's, with the petitioner's 答复告知, behind
        the upload that followed it). So only the steps up to the one last decided are
        counted: a step decided after the query may already be in before an earlier one."""

        async def behind() -> int:
            decided = len((await self.state()).timeline)
            async with self.sessions() as session:
                written = await session.scalar(
                    select(func.count())
                    .select_from(TimelineEvent)
                    .where(
                        TimelineEvent.petition_id == self.handle.id,
                        TimelineEvent.seq <= decided,
                    )
                )
            return decided - (written or 0)

        await eventually(behind, lambda n: n <= 0)

    async def notices(self) -> list[tuple[str, str, str]]:
        """The slips written so far, once the read model has caught up."""
        await self.written()
        async with self.sessions() as session:
            rows = await petitions.notices(session, self.handle.id)
        return [(n.kind, n.key, n.recipient_id) for n in rows]

    async def accept(self) -> PetitionState:
        state: PetitionState = await self.handle.execute_update(
            PetitionWorkflow.accept, AcceptRequest()
        )
        return state

    async def complete(self, reply: str = "已协调企业支付拖欠工资。") -> PetitionState:
        state: PetitionState = await self.handle.execute_update(
            PetitionWorkflow.complete, CompleteRequest(reply=reply)
        )
        return state

    async def update(self, update: Any, arg: Any) -> PetitionState:
        state: PetitionState = await self.handle.execute_update(update, arg)
        return state

    async def refusal(self, update: Any, arg: Any) -> str:
        """The reason the workflow refuses ``update`` (its validator's message)."""
        try:
            await self.handle.execute_update(update, arg)
        except WorkflowUpdateFailedError as exc:
            return str(exc.cause)
        raise AssertionError(f"{update} was not refused")

    async def quiet(self) -> None:
        """Wait until no workflow task or activity of this petition is in flight.

        The time-skipping server can stop its clock for good when asked to skip while an
        update's follow-up work is still running (seen as env.sleep timing out, then every
        later sleep too), so tests let the workflow settle before they skip time."""

        async def in_flight() -> int:
            events = (await self.handle.fetch_history()).events
            sends = _sends(events)
            types = [e.event_type for e in events if e.event_id not in sends]
            return sum(types.count(t) for t in _OPENS) - sum(types.count(t) for t in _CLOSES)

        await eventually(in_flight, lambda n: n == 0)

    async def sleep(self, duration: timedelta) -> None:
        """Skip ``duration`` of workflow time once the petition has settled."""
        await self.quiet()
        await self.env.sleep(duration)

    async def kinds(self) -> list[str]:
        return [e.kind.value for e in (await self.state()).timeline]


CaseFactory = Callable[..., Awaitable[Case]]


async def start_case(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    track: str = "general",
    *,
    started: list[str] | None = None,
    with_intake: bool = True,
    **intake: Any,
) -> Case:
    """Register a petition at the server's "now" and start its workflow the way the API does;
    return once it has recorded its registration (and its assignment, when it names a unit)
    and settled.

    ``started`` collects its id for the test to terminate; ``with_intake=False`` starts it as
    workflows were started before the intake travelled with them."""
    petition_id = await register_petition(
        sessions, settings=settings, track=track, now=await env.get_current_time(), **intake
    )
    async with sessions() as session:
        row = await petitions.get(session, petition_id)
    assert row is not None
    start = start_input(row, settings.review_units)
    if not with_intake:
        start = start.model_copy(update={"intake": None})
    await ensure_started(env.client, settings.task_queue, start)
    if started is not None:
        started.append(petition_id)
    case = Case(env, settings, sessions, env.client.get_workflow_handle(petition_id))
    settled = 2 if intake.get("unit_id", "dongguan") else 1  # registered (+ assigned)
    await case.until(lambda s: len(s.timeline) >= settled)
    # The intake deadlines are planned just after the assignment is recorded: a test that
    # compares states must start from a settled one.
    await case.quiet()
    return case


async def terminate(client: Client, workflow_ids: Iterable[str]) -> None:
    """End the workflows a test started once its worker is gone: the time-skipping server will
    not skip past the timer of a workflow whose worker has gone (it waits for its task)."""
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test over")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it had closed already
                raise


async def due_attribute(case: Case) -> datetime | None:
    """PetitionDueAt as Temporal holds it (read raw: the test server keeps an unset value as
    a null payload, which the typed decoder refuses)."""
    client = case.env.client
    raw = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=case.handle.id),
        )
    )
    fields = raw.workflow_execution_info.search_attributes.indexed_fields
    payload = fields.get(DUE_ATTR.name)
    if payload is None or payload.data in (b"", b"null"):
        return None
    return datetime.fromisoformat(json.loads(payload.data))
