"""The SQLite engine's guard for cancelled work: a task cancelled in the middle of a statement
(a request given up, an activity stopped) must not leave its transaction, and so the write lock,
behind it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from store.db import dispose, make_engine, make_sessionmaker


async def test_a_write_cancelled_mid_statement_leaves_no_lock_behind(tmp_path: Path) -> None:
    path = tmp_path / "petitionflow.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")

    paused = threading.Event()

    def pause(seconds: float) -> None:
        paused.set()
        time.sleep(seconds)

    @event.listens_for(engine.sync_engine, "connect")
    def _with_a_pause(dbapi_connection: Any, _record: Any) -> None:
        # pause(s): a statement that runs for ``s`` seconds in SQLite's thread, without CPU.
        dbapi_connection.run_async(lambda conn: conn.create_function("pause", 1, pause))

    sessions = make_sessionmaker(engine)

    async def writing() -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            await session.execute(text("SELECT pause(1.0)"))
            await session.commit()

    try:
        async with sessions() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            await session.commit()
        task = asyncio.create_task(writing())
        assert await asyncio.to_thread(paused.wait, 30), "the write never reached its pause"
        task.cancel()  # inside the pause, the write lock held
        with pytest.raises(asyncio.CancelledError):
            await task

        def write_elsewhere() -> None:
            # Another process's writer, as the worker is to the API: it waits at most 5 s.
            with sqlite3.connect(path, timeout=5, isolation_level=None) as other:
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO t VALUES (2)")
                other.execute("COMMIT")

        await asyncio.to_thread(write_elsewhere)
        async with sessions() as session:
            rows = (await session.execute(text("SELECT x FROM t"))).scalars().all()
        assert rows == [2], "the cancelled write was rolled back, the other one written"
    finally:
        await dispose(sessions)
