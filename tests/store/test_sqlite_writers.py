"""SQLite's write lock, as the API and the worker (two processes, one file) share it: a write
transaction waits for the lock by asking every few milliseconds, its process's writers in the
order they asked (store.db._begin_immediate), and gives up after its patience."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from store import db
from store.db import make_engine

HOLD = 0.5  # seconds the other process holds the write lock


async def _table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE written (n INTEGER)"))


async def _holding(engine: AsyncEngine, held: asyncio.Event, seconds: float) -> None:
    """The other process: a write transaction that keeps the lock for ``seconds``."""
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO written VALUES (0)"))
        held.set()
        await asyncio.sleep(seconds)


async def _write(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO written VALUES (:n)"), {"n": n})


async def test_waiting_writers_take_the_lock_in_the_order_they_asked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    other, ours = make_engine(url), make_engine(url, pool_size=8)
    try:
        await _table(other)
        held = asyncio.Event()
        holder = asyncio.create_task(_holding(other, held, HOLD))
        await held.wait()
        writers = []
        for n in range(1, 7):
            writers.append(asyncio.create_task(_write(ours, n)))
            await asyncio.sleep(0.02)  # each asks after the one before
        # A reader does not wait for the writer (WAL): it sees what was committed, nothing yet.
        async with ours.execution_options(**{db.READ_ONLY: True}).begin() as reading:
            assert (await reading.scalar(text("SELECT count(*) FROM written"))) == 0
        await asyncio.gather(holder, *writers)
        async with ours.connect() as conn:
            order = list(await conn.scalars(text("SELECT n FROM written ORDER BY rowid")))
            # The busy timeout is back to its patience once the lock was taken.
            timeout = await conn.scalar(text("PRAGMA busy_timeout"))
        assert order == [0, 1, 2, 3, 4, 5, 6]
        assert timeout == int(db.WRITE_LOCK_PATIENCE * 1000)
    finally:
        await other.dispose()
        await ours.dispose()


async def test_a_writer_gives_up_after_its_patience_and_the_next_one_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITE_LOCK_PATIENCE", 0.2)
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    other, ours = make_engine(url), make_engine(url)
    try:
        await _table(other)
        held = asyncio.Event()
        holder = asyncio.create_task(_holding(other, held, 1.0))
        await held.wait()
        with pytest.raises(OperationalError, match="database is locked"):
            await _write(ours, 1)
        await holder
        await _write(ours, 2)  # nothing of the failed wait is left behind
        async with ours.connect() as conn:
            assert list(await conn.scalars(text("SELECT n FROM written ORDER BY rowid"))) == [0, 2]
    finally:
        await other.dispose()
        await ours.dispose()
