"""Fixtures of the workflow tests: petitions on the time-skipping server, real activities."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.upload import UpstreamSystem
from domain.contracts import AcceptRequest, CompleteRequest, PetitionState
from store import petitions
from tests.conftest import eventually, make_settings, register_petition, worker_for
from worker.petitions import ensure_started, start_input
from worker.settings import Settings
from workflows.petition import PetitionWorkflow

DAY = timedelta(days=1)


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
        with contextlib.suppress(RPCError):  # already closed
            await time_env.client.get_workflow_handle(workflow_id).terminate("test over")


CaseFactory = Callable[..., Awaitable[Case]]


@pytest.fixture
def upstream() -> UpstreamSystem | None:
    """Where replies are uploaded; None: a directory under the test's data dir."""
    return None


@pytest.fixture
async def case_factory(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    tmp_path: Path,
    started: list[str],
    upstream: UpstreamSystem | None,
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
