"""Schema changes go through Alembic, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from core.database import prepare_store
from store.db import alembic_config, dispose, make_engine, make_sessionmaker, migrate
from store.models import Base, Petition
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, register_petition


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
        await dispose(sessions)


async def test_existing_database_at_the_first_release_migrates_with_its_data(
    database_url: str,
) -> None:
    """A database of the first release (revision 0001, with a petition in it) migrates to
    head; the due-soon column is filled from the deadlines it already held, and the case
    owner's id from its owner."""
    engine = make_engine(database_url)
    try:

        def at_first_release(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO units (id, name, kind, sort_order) VALUES (:id, :name, :kind, 1)"
                ),
                {"id": "u", "name": "东关镇", "kind": "township"},
            )
            connection.execute(
                text(
                    "INSERT INTO petitions (id, channel, petitioner_name, petitioner_phone, "
                    "persons, category, summary, content, unit_id, track, registered_at, "
                    "policy_version, policy, workflow_started, stage, phase, overdue, "
                    "uploaded, deadlines, projected_seq, updated_at, owner) VALUES "
                    "('XF-2026-000001', "
                    "'visit', '张三', '13800138000', 1, 'other', '摘要', '内容', 'u', 'general', "
                    ":now, '2026.1', '{}', true, 'handling', 'handling', false, false, "
                    ":deadlines, 3, :now, :owner)"
                ),
                {
                    "now": datetime(2026, 11, 2, tzinfo=UTC),
                    "owner": json.dumps({"person_id": "cl-03", "name": "孙丽华"}),
                    "deadlines": json.dumps(
                        [
                            {
                                "kind": "escalation",
                                "due_at": "2026-11-09T00:00:00+00:00",
                                "passed": True,
                            },
                            {
                                "kind": "escalation",
                                "due_at": "2026-11-16T00:00:00+00:00",
                                "passed": False,
                            },
                            {
                                "kind": "overdue",
                                "due_at": "2026-12-02T00:00:00+00:00",
                                "passed": False,
                            },
                        ]
                    ),
                },
            )

        async with engine.begin() as conn:
            await conn.run_sync(at_first_release)
        await migrate(engine)

        async with make_sessionmaker(engine)() as session:
            row = await session.get(Petition, "XF-2026-000001")
            assert row is not None and row.summary == "摘要"
            assert row.next_due_at == datetime(2026, 11, 16, tzinfo=UTC)
            assert row.owner_id == "cl-03"  # 0005: the case owner's reach, from the owner JSON
    finally:
        await engine.dispose()


async def test_petitions_in_review_get_their_handling_unit_and_overdue_record(
    database_url: str,
) -> None:
    """0008 (issue 10, item 8) backfills the handling unit beside the reviewing one:
    a petition still in 办理 is at it; one in 复查 was handled where its first acceptance's
    handler held a post, and was overdue there if it went overdue before review was asked."""
    engine = make_engine(database_url)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    try:

        def at_0006(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), "0006")
            for unit in ("u", "review"):
                connection.execute(
                    text("INSERT INTO units (id, name, kind, sort_order) VALUES (:u, :u, 't', 1)"),
                    {"u": unit},
                )
            connection.execute(text("INSERT INTO people (id, name, title) VALUES ('h', '张', '')"))
            connection.execute(
                text(
                    "INSERT INTO post_terms (unit_id, role, person_id, started_at) "
                    "VALUES ('u', 'handler', 'h', :now)"
                ),
                {"now": now},
            )
            for pid, unit, phase, overdue in [
                ("XF-2026-000001", "u", "handling", True),
                ("XF-2026-000002", "review", "review", False),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO petitions (id, channel, petitioner_name, petitioner_phone, "
                        "persons, category, summary, content, unit_id, track, registered_at, "
                        "policy_version, policy, workflow_started, stage, phase, overdue, "
                        "uploaded, deadlines, projected_seq, updated_at) VALUES (:id, 'visit', "
                        "'张三', '138', 1, 'other', '摘要', '内容', :unit, 'general', :now, "
                        "'2026.1', '{}', true, 'handling', :phase, :overdue, false, '[]', 3, :now)"
                    ),
                    {"id": pid, "unit": unit, "phase": phase, "overdue": overdue, "now": now},
                )
            steps = ["accepted", "overdue", "completed", "review_requested", "accepted"]
            for seq, kind in enumerate(steps, start=1):
                connection.execute(
                    text(
                        "INSERT INTO timeline_events (petition_id, seq, at, kind, person_id) "
                        "VALUES ('XF-2026-000002', :seq, :now, :kind, :person)"
                    ),
                    {"seq": seq, "now": now, "kind": kind, "person": "h" if seq == 1 else None},
                )

        async with engine.begin() as conn:
            await conn.run_sync(at_0006)
        await migrate(engine)

        async with make_sessionmaker(engine)() as session:
            handling = await session.get(Petition, "XF-2026-000001")
            reviewed = await session.get(Petition, "XF-2026-000002")
            assert handling is not None and reviewed is not None
            assert (handling.handling_unit_id, handling.handling_overdue) == ("u", True)
            assert (reviewed.unit_id, reviewed.handling_unit_id) == ("review", "u")
            assert reviewed.handling_overdue is True
    finally:
        await engine.dispose()


async def test_the_audit_trail_refuses_truncate_on_postgresql(
    postgres: str, templates: Templates
) -> None:
    """The row triggers refuse UPDATE and DELETE; TRUNCATE fires no row trigger, so a statement
    trigger refuses it too (SQLite has no TRUNCATE)."""
    engine = make_engine(await templates.postgres_copy(postgres))
    try:
        async with engine.begin() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("TRUNCATE audit_log"))
    finally:
        await engine.dispose()
