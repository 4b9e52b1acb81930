"""Engines and sessions. Built by the caller from its settings (never at import time)."""

from __future__ import annotations

import sqlite3
import threading
import weakref
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
        connect_args: dict[str, Any] = {"timeout": BUSY_SECONDS}
        if url.database and url.database != ":memory:":
            connect_args["factory"] = _taking_turns(Path(url.database))
        engine = create_async_engine(url, connect_args=connect_args)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives any process crash; only a power cut can lose the last
            # commits, and the read model is rebuilt from the workflows' histories anyway. FULL
            # would fsync every projection and stall under disk load.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Readers (``readers``) begin deferred: in WAL mode they read a snapshot and never
            # wait for the writer, nor make it wait.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it costs three round trips (BEGIN, a ping, ROLLBACK) on every checkout, some
    # 7 % of the worker's CPU under load (issue 9, profiled). A connection the server dropped
    # fails one transaction instead, and SQLAlchemy then discards the whole pool: an activity
    # is retried by Temporal, a request answers 503 and may be sent again. Recycling bounds a
    # connection's age for proxies and firewalls that drop idle ones silently.
    return create_async_engine(
        url, pool_recycle=1800, pool_size=pool_size, max_overflow=POOL_OVERFLOW
    )


# How long a SQLite writer waits for the write lock before "database is locked".
BUSY_SECONDS = 30


class _Turns:
    """One write transaction at a time per SQLite file in this process, handed on at once.

    SQLite's own wait for the write lock (``busy_timeout``) naps, 1 ms at first and up to 100 ms
    at a time once a writer has waited a while; a lock freed meanwhile sits idle, and a writer
    that keeps losing to others waits for seconds. Writers of one process therefore queue here
    first, in the connection's own thread, and are woken the moment the one before them commits
    or rolls back: only the head of each process's queue meets SQLite's wait (the API's and the
    worker's, two processes, not every request and activity). Measured in ``bench.intake``.

    A transaction ends on commit, rollback or close (a terminated connection is closed too);
    should a connection vanish holding its turn, the next writer takes the turn over rather
    than wait for ever."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()  # over ``_holder``
        self._holder: weakref.ref[sqlite3.Connection] | None = None

    def take(self, connection: sqlite3.Connection) -> bool:
        """Wait for ``connection``'s turn; False when it had the turn already (SQLite then
        refuses the nested BEGIN itself, and the turn stays with the transaction it has)."""
        with self._guard:
            if self._holder is not None and self._holder() is connection:
                return False
        waited = 0.0
        while not self._lock.acquire(timeout=1.0):
            waited += 1.0
            with self._guard:
                holder = self._holder
                if holder is not None and not _open(holder()):
                    # Its holder is gone without ending its turn: take the turn over (the lock
                    # stays taken, now for this connection).
                    self._holder = weakref.ref(connection)
                    return True
            if waited >= BUSY_SECONDS:
                raise sqlite3.OperationalError("database is locked")
        with self._guard:
            self._holder = weakref.ref(connection)
        return True

    def give_back(self, connection: sqlite3.Connection) -> None:
        with self._guard:
            if self._holder is None or self._holder() is not connection:
                return  # not its turn: a reader, or a transaction that never began
            self._holder = None
        self._lock.release()


def _open(connection: sqlite3.Connection | None) -> bool:
    if connection is None:
        return False
    try:
        connection.total_changes  # noqa: B018  (raises ProgrammingError once closed)
    except sqlite3.ProgrammingError:
        return False
    return True


_TURNS: dict[Path, _Turns] = {}
_TURNS_GUARD = threading.Lock()


def _taking_turns(database: Path) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose write transactions (``BEGIN IMMEDIATE``) take their turn
    at ``database`` (``_Turns``), one per file and process."""
    with _TURNS_GUARD:
        turns = _TURNS.setdefault(database.resolve(), _Turns())

    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
            connection = self.connection
            if sql == "BEGIN IMMEDIATE":
                took = turns.take(connection)
                try:
                    return super().execute(sql, parameters)
                except BaseException:
                    if took:
                        turns.give_back(connection)
                    raise
            try:
                return super().execute(sql, parameters)
            finally:
                if sql in ("COMMIT", "ROLLBACK"):
                    turns.give_back(connection)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = None) -> Any:
            return super().cursor(factory or Cursor)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                turns.give_back(self)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                turns.give_back(self)

        def close(self) -> None:
            try:
                super().close()
            finally:
                turns.give_back(self)

    return Connection


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
