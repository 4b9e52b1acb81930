"""Fixtures of the workflow tests: petitions on the time-skipping server, real activities."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.upload import ReplyUpload, UploadReceipt, UpstreamSystem
from core.settings import Settings
from core.starter import ensure_started, start_input
from domain.contracts import AcceptRequest, CompleteRequest, Person, PetitionState
from domain.vocabulary import Role
from store import petitions
from tests.conftest import eventually, make_settings, register_petition, worker_for
from workflows.petition import PetitionWorkflow

DAY = timedelta(days=1)

# People of the demo county (store/demo_county.yaml) the tests act as.
DONGGUAN_HEAD = Person(
    person_id="dongguan-head",
    name="李卫东",
    title="东关镇党委书记",
    role=Role.UNIT_HEAD,
    unit_id="dongguan",
)
XIHE_HEAD = Person(
    person_id="xihe-head", name="杨国强", title="西河乡乡长", role=Role.UNIT_HEAD, unit_id="xihe"
)
COUNTY_LEADER = Person(
    person_id="cl-02",
    name="周海涛",
    title="县委常委、政法委书记",
    role=Role.COUNTY_CONTACT_LEADER,
    unit_id="xihe",
)
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

    async def notices(self) -> list[tuple[str, str, str]]:
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
            types = [e.event_type for e in (await self.handle.fetch_history()).events]
            return sum(types.count(t) for t in _OPENS) - sum(types.count(t) for t in _CLOSES)

        await eventually(in_flight, lambda n: n == 0)

    async def sleep(self, duration: timedelta) -> None:
        """Skip ``duration`` of workflow time once the petition has settled."""
        await self.quiet()
        await self.env.sleep(duration)

    async def kinds(self) -> list[str]:
        return [e.kind.value for e in (await self.state()).timeline]


async def start_case(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    track: str,
    **intake: Any,
) -> WorkflowHandle[Any, Any]:
    petition_id = await register_petition(
        sessions, settings=settings, track=track, now=await env.get_current_time(), **intake
    )
    async with sessions() as session:
        row = await petitions.get(session, petition_id)
    assert row is not None
    await ensure_started(env.client, settings.task_queue, start_input(row, settings.review_units))
    return env.client.get_workflow_handle(petition_id)


@pytest.fixture
async def started(time_env: WorkflowEnvironment) -> AsyncIterator[list[str]]:
    """Workflows a test started; terminated after it, because the time-skipping server will not
    skip past the timer of a workflow whose worker has gone (it waits for its task)."""
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        try:
            await time_env.client.get_workflow_handle(workflow_id).terminate("test over")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it had closed already
                raise


CaseFactory = Callable[..., Awaitable[Case]]


class MemoryUpstream:
    """An upper-level system in memory: no files, no threads, nothing to slow the clock."""

    def __init__(self) -> None:
        self.received: list[ReplyUpload] = []

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        self.received.append(record)
        return UploadReceipt(
            ack_id=f"MEM-{len(self.received)}", received_at=datetime.now(UTC), target="memory"
        )


@pytest.fixture
def upstream() -> UpstreamSystem:
    """Where replies are uploaded (the adapters themselves are tested in tests/activities)."""
    return MemoryUpstream()


@pytest.fixture
async def case_factory(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    tmp_path: Path,
    started: list[str],
    upstream: UpstreamSystem,
) -> AsyncIterator[CaseFactory]:
    settings = make_settings(tmp_path)
    async with worker_for(time_env.client, settings, sessions, upstream):

        async def make(track: str = "general", **intake: Any) -> Case:
            handle = await start_case(time_env, sessions, settings, track, **intake)
            started.append(handle.id)
            case = Case(time_env, settings, sessions, handle)
            settled = 2 if intake.get("unit_id", "dongguan") else 1  # registered (+ assigned)
            await case.until(lambda s: len(s.timeline) >= settled)
            return case

        yield make
