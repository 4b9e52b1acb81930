"""Schema changes go through Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from store.db import alembic_config, make_engine, migrate
from store.models import Base


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
