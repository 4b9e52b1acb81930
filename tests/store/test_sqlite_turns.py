"""SQLite writers of one process take turns (store.db._Turns): each write transaction waits for
the one before it in this process, is handed the turn when that one ends, however it ends, and
never waits for ever behind a connection that is gone."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import db
from store.db import make_engine


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one file, as the API and its in-process helpers have."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    first, second = make_engine(url), make_engine(url)
    async with first.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield first, second
    await first.dispose()
    await second.dispose()


async def write_after(conn: AsyncConnection, n: int) -> int:
    """Begin a write transaction (it waits for its turn), insert ``n``, commit."""
    await conn.begin()
    await conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
    await conn.commit()
    return n


async def rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return [n for (n,) in await conn.execute(text("SELECT n FROM t ORDER BY n"))]


async def still_waiting(task: asyncio.Task[int]) -> bool:
    await asyncio.sleep(0.3)
    return not task.done()


@pytest.mark.parametrize("ending", ["commit", "rollback", "close", "invalidate"])
async def test_the_next_writer_goes_once_the_turn_ends_however_it_ends(
    engines: tuple[AsyncEngine, AsyncEngine], ending: str
) -> None:
    first, second = engines
    holder = await first.connect()
    await holder.begin()
    await holder.execute(text("INSERT INTO t (n) VALUES (1)"))
    async with second.connect() as other:
        waiting = asyncio.create_task(write_after(other, 2))
        assert await still_waiting(waiting)
        if ending == "commit":
            await holder.commit()
        elif ending == "rollback":
            await holder.rollback()
        elif ending == "invalidate":  # what SQLAlchemy does to a connection it cannot trust
            await holder.invalidate()
        await holder.close()
        assert await asyncio.wait_for(waiting, timeout=10) == 2
    assert await rows(first) == ([1, 2] if ending == "commit" else [2])


async def test_a_refused_begin_gives_its_turn_back(
    engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BEGIN that SQLite refuses (another process holds the write lock past the busy
    timeout) ends the turn it took: the writer after it is not held up."""
    _, second = engines
    monkeypatch.setattr(db, "BUSY_SECONDS", 1)  # SQLite's own wait, for the engine made next
    impatient = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    outside = sqlite3.connect(tmp_path / "turns.db", isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")  # another process: no turn of ours taken
    try:
        async with impatient.connect() as conn:
            with pytest.raises(Exception, match="database is locked"):
                await write_after(conn, 1)
    finally:
        outside.execute("ROLLBACK")
        outside.close()
        await impatient.dispose()
    async with second.connect() as other:
        assert await asyncio.wait_for(write_after(other, 2), timeout=10) == 2


async def test_a_writer_waits_no_longer_than_the_busy_timeout(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a live transaction that does not end, "database is locked" after the busy
    timeout, as SQLite itself answers."""
    monkeypatch.setattr(db, "BUSY_SECONDS", 2)
    first, second = engines
    async with first.connect() as holder:
        await holder.begin()
        async with second.connect() as other:
            with pytest.raises(Exception, match="database is locked"):
                await asyncio.wait_for(write_after(other, 2), timeout=20)
        await holder.rollback()


def begin(path: Path) -> sqlite3.Connection:
    """A connection of the kind make_engine opens, in a write transaction (its turn taken)."""
    connection = sqlite3.connect(path, isolation_level=None, factory=db._taking_turns(path))
    connection.cursor().execute("BEGIN IMMEDIATE")
    return connection


def test_a_turn_held_by_a_vanished_connection_is_taken_over(tmp_path: Path) -> None:
    """A connection dropped without closing (garbage, a thread gone) cannot keep everyone
    waiting: the next writer takes the turn over instead of waiting out the busy timeout."""
    path = tmp_path / "gone.db"
    gone = begin(path)
    del gone  # SQLite's lock goes with it, the turn would not
    gc.collect()
    survivor = begin(path)
    survivor.commit()
    survivor.cursor().execute("BEGIN IMMEDIATE")  # and the turn goes round as before
    survivor.rollback()
    survivor.close()


def test_a_turn_held_by_a_connection_closed_behind_its_back_is_taken_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "closed.db"
    closed = begin(path)
    sqlite3.Connection.close(closed)  # not through the connection's own close
    survivor = begin(path)
    survivor.commit()
    survivor.close()


def test_a_nested_begin_is_refused_at_once_and_the_turn_stays(tmp_path: Path) -> None:
    """A BEGIN inside the connection's own transaction: SQLite refuses it at once (no wait for
    its own turn), and the transaction it has keeps the turn."""
    path = tmp_path / "nested.db"
    holder = begin(path)
    with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
        holder.cursor().execute("BEGIN IMMEDIATE")
    turns = db._TURNS[path.resolve()]
    assert not turns._lock.acquire(blocking=False), "the turn was given away"
    holder.commit()
    assert turns._lock.acquire(blocking=False)
    turns._lock.release()
    holder.close()
