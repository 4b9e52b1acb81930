"""Fixtures shared by the whole suite: the Temporal servers and the databases.

A session here is one pytest process: with xdist's four workers (pyproject.toml), each has its
own. One dev server and one PostgreSQL cluster serve the session; each test runs its own worker
on a task queue of its own (make_settings), and its petition numbers (the workflow ids) start in
a block of their own. The time-skipping server is one per test. The store's schema is migrated
once per session into a template (a SQLite file, a PostgreSQL template database) that each test
copies."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from store.db import dispose
from tests.helpers.blackbox import Stack
from tests.helpers.postgres import new_database, postgres_cluster
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, open_store
from tests.helpers.temporal import temporal_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "long(seconds): a test of about that many seconds on the loaded 2-core machine; with "
        "xdist, started first by a worker of its own (pytest_collection_modifyitems)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, put the long tests at the heads of the workers' first shares, spread by
    their seconds. The suite is CPU-bound on two cores; a long test that starts last runs alone
    at the end with the cores half idle: the make-run stack test, last in its worker's share,
    ran 45 s after the other three workers had finished.

    ``--dist worksteal`` hands each worker a contiguous share of the collection, in order, and
    steals from the ends of the shares, so a test at a share's head starts at once and stays
    there. Every worker collects, and must collect the same order: this depends only on the
    items and the worker count."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    seconds = {
        item.nodeid: float(marker.args[0])
        for item in items
        if (marker := item.get_closest_marker("long")) is not None
    }
    if workers < 2 or not seconds:
        return
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for item in sorted(
        (item for item in items if item.nodeid in seconds), key=lambda i: -seconds[i.nodeid]
    ):
        least = loads.index(min(loads))
        shares[least].append(item)
        loads[least] += seconds[item.nodeid]
    rest = iter([item for item in items if item.nodeid not in seconds])
    left = len(items)
    ordered: list[pytest.Item] = []
    for k, share in enumerate(shares):
        size = left // (workers - k)  # as xdist's WorkStealingScheduling splits the collection
        left -= size
        ordered += share + list(itertools.islice(rest, max(size - len(share), 0)))
    items[:] = ordered + list(rest)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The tests' event loop is uvloop's, as the API's and the worker's are (pyproject.toml):
    the in-process API and worker are most of the suite's CPU, on two cores."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, one per test: a fresh one costs a fraction of a second
    and keeps each test's clock its own.

    A server shared by the session was tried again (issue 8), with every test on its own task
    queue, settling its petitions before skipping time (Case.sleep) and terminating them after
    (the ``started`` fixture): 137 of 140 tests passed on one server, but three in a row failed
    when their workflow queries went unanswered for 30 s, and the server recovered only later;
    on fresh servers the same runs are green."""
    async with temporal_server(time_skipping=True) as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server, as ``make run`` uses, shared by the session."""
    async with temporal_server(time_skipping=False) as env:
        yield env


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the session (its admin DSN)."""
    with postgres_cluster() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """The migrated template databases, made on first use and copied for each test."""
    return Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for one test (what the migrations start from): a SQLite file, or a new
    database on the cluster."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}"
    return await new_database(request.getfixturevalue("postgres"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's database for one test, migrated and loaded with the demo county: a copy of
    the session's template. Store and API tests run on both SQLite and PostgreSQL."""
    templates: Templates = request.getfixturevalue("templates")
    if request.param == "sqlite":
        return await templates.sqlite_copy(tmp_path / "petitionflow.db")
    return await templates.postgres_copy(request.getfixturevalue("postgres"))


@pytest.fixture
async def sessions(tmp_path: Path, store_url: str) -> AsyncIterator[async_sessionmaker[Any]]:
    factory = await open_store(make_settings(tmp_path, database_url=store_url))
    yield factory
    await dispose(factory)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``python -m worker.stack`` on free ports and a data dir of its own; stopped after."""
    running = Stack(tmp_path)
    yield running
    if running.proc is not None and running.proc.poll() is None:
        running.stop()
