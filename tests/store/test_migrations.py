"""Schema changes go through Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from store.db import alembic_config, make_engine, migrate
from store.models import Base
from tests.conftest import make_settings, register_petition
from worker.runtime import prepare_store


async def test_empty_database_migrates_to_head_and_again_is_a_no_op(database_url: str) -> None:
    engine = make_engine(database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        await migrate(engine)
        await migrate(engine)  # a second start (or the other process) changes nothing

        def check(connection: Connection) -> None:
            assert MigrationContext.configure(connection).get_current_revision() == head
            tables = set(inspect(connection).get_table_names())
            assert set(Base.metadata.tables) <= tables
            # The models and the migrations agree: a model change needs a migration.
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []

        async with engine.connect() as conn:
            await conn.run_sync(check)
    finally:
        await engine.dispose()


async def test_petition_numbers_are_unique_under_concurrent_registrations(
    database_url: str, tmp_path: Path
) -> None:
    """Twenty registrations at once, the first of their year: twenty distinct numbers."""
    settings = make_settings(tmp_path, database_url=database_url)
    sessions = await prepare_store(settings)
    try:
        numbers = await asyncio.gather(
            *(
                register_petition(sessions, settings=settings, phone=f"1380000{i:04d}")
                for i in range(20)
            )
        )
        assert len(set(numbers)) == 20
        assert all(n.startswith("XF-") for n in numbers)
    finally:
        await sessions.kw["bind"].dispose()
