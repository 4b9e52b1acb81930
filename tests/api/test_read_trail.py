"""The read rows (查阅记录) queued by ``ReadTrail`` are written however their writer is stopped:
a flush cancelled while it waits for SQLite's write lock (a request given up, the API stopping)
still writes its batch, once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.audit import ReadTrail
from store.db import dispose, make_engine, make_sessionmaker
from store.models import AuditEntry
from store.petitions import utcnow
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, open_store
from tests.helpers.waiting import at_once, eventually


def _read_row(n: int) -> AuditEntry:
    return AuditEntry(
        at=utcnow(),
        actor="zhangsan",
        action="get_petition",
        method="GET",
        path=f"/api/v1/petitions/XF-2026-{n:06d}",
        status=200,
        outcome="read",
    )


async def _count(sessions: async_sessionmaker[Any]) -> int:
    async with sessions() as session:
        found: int = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "zhangsan")
        )
        return found


async def test_a_flush_cancelled_while_it_waits_for_the_lock_still_writes_its_rows(
    templates: Templates, tmp_path: Path
) -> None:
    url = await templates.sqlite_copy(tmp_path / "petitionflow.db")
    settings = make_settings(tmp_path, database_url=url)
    trail_sessions = await open_store(settings)
    other = make_sessionmaker(make_engine(url))
    try:
        trail = ReadTrail(trail_sessions)
        for n in range(3):
            trail.add(_read_row(n))
        async with other() as holder:
            # Another writer holds the write lock (BEGIN IMMEDIATE): the flush waits for it.
            await holder.execute(text("SELECT 1"))
            flushing = asyncio.create_task(trail.flush())
            # The batch taken out of the queue: the write has begun, and waits for the lock.
            await eventually(lambda: at_once(len(trail._waiting)), lambda n: n == 0)
            assert not flushing.done()
            flushing.cancel()
            await asyncio.gather(flushing, return_exceptions=True)
            await holder.commit()
        assert await eventually(lambda: _count(other), lambda n: n == 3) == 3
        async with trail.running():  # stopping flushes what waits: nothing is written twice
            pass
        assert await _count(other) == 3
    finally:
        await dispose(trail_sessions)
        await dispose(other)


async def test_stopping_the_trail_writes_what_waits(templates: Templates, tmp_path: Path) -> None:
    url = await templates.sqlite_copy(tmp_path / "petitionflow.db")
    sessions = await open_store(make_settings(tmp_path, database_url=url))
    try:
        async with ReadTrail(sessions).running() as trail:
            for n in range(5):
                trail.add(_read_row(n))
        assert await _count(sessions) == 5
    finally:
        await dispose(sessions)
