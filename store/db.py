"""Engines and sessions. Built by the caller from its settings (never at import time)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Connections a process may open beyond its pool in a burst, closed once returned.
POOL_OVERFLOW = 5


def make_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # The API and the worker are two processes writing one file. Every transaction takes
        # the write lock up front (BEGIN IMMEDIATE) and waits for it: a read-then-write
        # transaction that upgraded late would fail with "database is locked" instead.
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives any process crash; only a power cut can lose the last
            # commits, and the read model is rebuilt from the workflows' histories anyway. FULL
            # would fsync every projection and stall under disk load.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Readers (``readers``) begin deferred: in WAL mode they read a snapshot and never
            # wait for the writer, nor make it wait.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        @event.listens_for(engine.sync_engine, "invalidate")
        def _roll_back_before_closing(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
            # A task cancelled mid-statement (a request given up, an activity stopped) has its
            # connection invalidated and closed. Closed with that statement still referenced,
            # SQLite keeps the connection as a zombie that holds its transaction, and so the
            # write lock, until the garbage collector finds the statement: every writer of
            # both processes then fails with "database is locked" after 30 s. A rollback
            # first releases the lock at once.
            with contextlib.suppress(Exception):  # gone already, or outside the event loop
                dbapi_connection.rollback()

        return engine
    # No pre-ping: it costs three round trips (BEGIN, a ping, ROLLBACK) on every checkout, some
    # 7 % of the worker's CPU under load (issue 9, profiled). A connection the server dropped
    # fails one transaction instead, and SQLAlchemy then discards the whole pool: an activity
    # is retried by Temporal, a request answers 503 and may be sent again. Recycling bounds a
    # connection's age for proxies and firewalls that drop idle ones silently.
    return create_async_engine(
        url, pool_recycle=1800, pool_size=pool_size, max_overflow=POOL_OVERFLOW
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


READ_ONLY = "petitionflow_read_only"

M = TypeVar("M")


async def kept(session: AsyncSession, model: type[M], key: Any) -> M | None:
    """``session.get``, the row held for the session's life. The identity map holds rows only
    weakly: a petition or a person looked up for each of a burst's notices, and dropped between
    them, was read again for every one (the notices' drainer read a petition per notice)."""
    rows: dict[tuple[type[Any], Any], Any] = session.info.setdefault("kept", {})
    if (model, key) not in rows:
        rows[model, key] = await session.get(model, key)
    found: M | None = rows[model, key]
    return found


def readers(sessions: async_sessionmaker[Any]) -> async_sessionmaker[Any]:
    """Sessions on the same connections for work that only reads (GET requests, lookups). On
    SQLite they do not take the write lock up front, so reads do not queue behind writes; a
    reader that writes anyway fails with "database is locked" instead of waiting. Either way a
    reader reads one snapshot: SQLite's deferred transaction does, and on PostgreSQL it runs
    REPEATABLE READ, where READ COMMITTED takes a snapshot per statement and a list's page,
    read before a step's commit, could disagree with its total, read after (seen in CI: total
    1, no rows). Only reading, such a transaction is never refused for a conflict."""
    engine: AsyncEngine = sessions.kw["bind"]
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name != "sqlite":
        options["isolation_level"] = "REPEATABLE READ"
    return make_sessionmaker(engine.execution_options(**options))


def lookups(sessions: async_sessionmaker[Any]) -> async_sessionmaker[Any]:
    """Sessions for the worker's lookups: a read of a statement or two that needs no snapshot
    of its own (who holds a post now, whether the outbox has work). On PostgreSQL they run in
    autocommit, so a lookup is its statements alone: a reader's BEGIN and ROLLBACK around them
    were two of its three round trips, and some 3 of the 18 a chain step cost (issue 9,
    counted on the escalation benchmark). On SQLite they are ``readers``: deferred, no write
    lock. Never for a read that must agree with itself across statements (a page and its
    total): ``readers`` is."""
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.dialect.name == "sqlite":
        return readers(sessions)
    options: dict[str, Any] = {READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}
    return make_sessionmaker(engine.execution_options(**options))


async def dispose(sessions: async_sessionmaker[Any]) -> None:
    """Close the connection pool behind a session factory (at shutdown)."""
    engine: AsyncEngine = sessions.kw["bind"]
    await engine.dispose()


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (an empty database and an older one alike).
    Both the API and the worker call it at start; on PostgreSQL an advisory lock makes the
    second wait for the first instead of racing it."""

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)


_LOCK_KEY = 0x5046_4D49  # "PFMI": petitionflow migrations
