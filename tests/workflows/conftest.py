"""Fixtures of the workflow tests: petitions on a time-skipping server of their own, the real
activities, replies uploaded in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.upload import UpstreamSystem
from core.settings import Settings
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates
from tests.helpers.temporal import worker_for
from tests.helpers.upstream import ScriptedUpstream
from tests.helpers.workflows import Case, CaseFactory, start_case, terminate


@pytest.fixture
async def store_url(templates: Templates, tmp_path: Path) -> str:
    """SQLite only: these tests are about the workflow, not the database; the store and API
    tests run the same activities' queries on PostgreSQL too."""
    return await templates.sqlite_copy(tmp_path / "petitionflow.db")


@pytest.fixture
async def started(time_env: WorkflowEnvironment) -> AsyncIterator[list[str]]:
    """Workflows a test started; terminated after it, because the time-skipping server will not
    skip past the timer of a workflow whose worker has gone (it waits for its task)."""
    ids: list[str] = []
    yield ids
    await terminate(time_env.client, ids)


@pytest.fixture
def upstream() -> UpstreamSystem:
    """Where replies are uploaded (the adapters themselves are tested in tests/activities)."""
    return ScriptedUpstream()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The test's settings: its data dir, a task queue of its own, dev mode."""
    return make_settings(tmp_path)


@pytest.fixture
async def case_factory(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
    upstream: UpstreamSystem,
) -> AsyncIterator[CaseFactory]:
    async with worker_for(time_env.client, settings, sessions, upstream):

        async def make(track: str = "general", **intake: Any) -> Case:
            return await start_case(time_env, sessions, settings, track, started=started, **intake)

        yield make
