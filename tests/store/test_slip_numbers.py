"""The county's yearly numbers of the slips and documents (文号): gap-free per kind and year,
unique under concurrent projections, kept by a retried step — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.contracts import Deadline, Notice, Person, PetitionState, StepRecord, TimelineEvent
from domain.slips import document_number, slip_deadline
from domain.vocabulary import Category, EventKind, NoticeKind, Role, Stage, Track
from store import numbering, petitions
from store.db import alembic_config, make_engine, make_sessionmaker, migrate
from store.models import Document, DocumentCounter
from store.models import Notice as NoticeRow
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

HANDLER = Person(
    person_id="dongguan-h1", name="赵志强", title="经办人", role=Role.HANDLER, unit_id="dongguan"
)
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DUE = Deadline(kind="escalation", level=2, due_at=NOW + timedelta(days=7), description="第二周")


def step(pid: str, seq: int, kinds: list[NoticeKind], *, at: datetime = NOW) -> StepRecord:
    event = TimelineEvent(seq=seq, at=at, kind=EventKind.SUPERVISION, level=1)
    state = PetitionState(
        id=pid,
        unit_id="dongguan",
        track=Track.GENERAL,
        category=Category.OTHER,
        stage=Stage.HANDLING,
        level=1,
        registered_at=at,
        policy_version="test",
        deadlines=[DUE],
    )
    notices = [
        Notice(key=f"s{seq}-{i}", kind=kind, level=1, recipient=HANDLER, text="督办")
        for i, kind in enumerate(kinds)
    ]
    return StepRecord(state=state, event=event, notices=notices)


async def project(sessions: async_sessionmaker[Any], record: StepRecord, now: datetime) -> None:
    async with sessions() as session:
        await petitions.project(session, record, now)


async def serials(sessions: async_sessionmaker[Any], kind: str) -> list[tuple[int, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeRow.serial_year, NoticeRow.serial).where(NoticeRow.kind == kind)
        )
        return sorted((y, s) for y, s in rows.all() if y is not None and s is not None)


async def test_numbers_are_gap_free_and_unique_under_concurrent_steps(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """Twelve petitions project a step at once, each with two 督办单 and a 催办单 (locked in one
    order, so PostgreSQL's row locks never wait in a ring); the petitioner's slip takes none."""
    settings = make_settings(tmp_path)
    pids = [
        await register_petition(sessions, settings=settings, phone=f"1390000{i:04d}")
        for i in range(12)
    ]
    kinds = [NoticeKind.SUPERVISION, NoticeKind.REMINDER, NoticeKind.SUPERVISION]
    await asyncio.gather(
        *(project(sessions, step(pid, 1, [*kinds, NoticeKind.PETITIONER]), NOW) for pid in pids)
    )
    assert await serials(sessions, "supervision") == [(2026, n) for n in range(1, 25)]
    assert await serials(sessions, "reminder") == [(2026, n) for n in range(1, 13)]
    assert await serials(sessions, "petitioner") == []
    # Each number once, and a slip's own two numbered in the step's order.
    async with sessions() as session:
        rows = list(
            await session.scalars(select(NoticeRow).where(NoticeRow.petition_id == pids[0]))
        )
    first, second = sorted((r for r in rows if r.kind == "supervision"), key=lambda r: r.key)
    assert second.serial == first.serial + 1
    # The deadline ahead when it was issued, kept with the slip for its printed form.
    assert first.deadline is not None and first.deadline["description"] == "第二周"


async def test_a_retried_step_keeps_its_number_and_a_new_year_starts_at_one(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    pid = await register_petition(sessions, settings=settings)
    record = step(pid, 1, [NoticeKind.OVERDUE])
    await project(sessions, record, NOW)
    await project(sessions, record, NOW + timedelta(minutes=1))  # the activity retried
    # A write that fails before its commit (a duplicate racing it, the database lost) keeps
    # nothing: its number goes back with its rows.
    async with sessions() as session:
        await petitions.apply_step(session, step(pid, 9, [NoticeKind.OVERDUE]), NOW)
        await session.rollback()
    await project(sessions, step(pid, 2, [NoticeKind.OVERDUE]), NOW + timedelta(hours=1))
    # Beijing's new year comes eight hours before London's.
    new_year = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    await project(sessions, step(pid, 3, [NoticeKind.OVERDUE], at=new_year), new_year)
    assert await serials(sessions, "overdue") == [(2026, 1), (2026, 2), (2027, 1)]
    async with sessions() as session:
        counters = {
            (c.kind, c.year): c.last for c in await session.scalars(select(DocumentCounter))
        }
    assert counters == {("overdue", 2026): 2, ("overdue", 2027): 1}


async def test_the_reply_and_the_acceptance_notice_are_numbered_documents(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    pid = await register_petition(sessions, settings=settings)
    replied = TimelineEvent(seq=1, at=NOW, kind=EventKind.COMPLETED, note="已补发工资。")
    record = step(pid, 1, []).model_copy(update={"event": replied})
    for _ in range(2):  # retried: one 答复意见书
        await project(sessions, record, NOW)
        async with sessions() as session:
            await petitions.save_document(
                session,
                pid,
                kind="acceptance_notice",
                key="acceptance-handling",
                text="告知",
                now=NOW,
            )
    async with sessions() as session:
        documents = list(await session.scalars(select(Document).order_by(Document.id)))
    assert [(d.kind, d.serial_year, d.serial) for d in documents] == [
        ("reply_opinion", 2026, 1),
        ("acceptance_notice", 2026, 1),
    ]
    assert documents[0].text == "已补发工资。"
    assert documents[0].details == {"unit_id": "dongguan", "phase": "handling"}


async def test_documents_are_listed_in_the_order_their_steps_issued_them(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """Each round's 告知书 is written by an activity after the update that decided it; the
    复查's can commit before the 办理's. The list follows the day each was issued."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    issued = {"acceptance-review": NOW + timedelta(days=40), "acceptance-handling": NOW}
    async with sessions() as session:
        for key, at in issued.items():  # written out of order
            await petitions.save_document(
                session, pid, kind="acceptance_notice", key=key, text=key, now=at
            )
    async with sessions() as session:
        listed = await petitions.documents(session, pid)
    assert [d.key for d in listed] == ["acceptance-handling", "acceptance-review"]


def test_how_a_number_reads_and_which_deadline_a_slip_names() -> None:
    assert document_number("青信", "supervision", 2026, 12) == "青信督〔2026〕12号"
    assert document_number("青信", "assignment", 2026, 1210) == "青信交〔2026〕1210号"
    assert document_number("青信", "reminder", 2026, 15) == "青信催〔2026〕15号"
    assert document_number("青信", "overdue", 2026, 3) == "青信逾〔2026〕3号"
    assert document_number("青信", "petitioner", 2026, 3) is None
    assert document_number("青信", "reminder", None, None) is None
    passed = DUE.model_copy(update={"due_at": NOW - timedelta(days=1), "description": "已过"})
    later = DUE.model_copy(update={"due_at": NOW + timedelta(days=30), "description": "办结"})
    assert slip_deadline([later, passed, DUE], NOW) == DUE
    assert slip_deadline([passed], NOW) is None


async def test_migration_numbers_what_was_written_before_in_written_order(
    database_url: str,
) -> None:
    """0013 numbers the slips and documents already written, per kind and Beijing year in the
    order they were written, and writes the 答复意见书 of a reply already given."""
    engine = make_engine(database_url)
    dec31 = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)  # 23:00 in Beijing: still 2026
    try:

        def at_0009(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), "0009")
            connection.execute(text("INSERT INTO units VALUES ('u', '东关镇', 'township', 1)"))
            connection.execute(
                text(
                    "INSERT INTO petitions (id, channel, petitioner_name, petitioner_phone, "
                    "persons, category, summary, content, unit_id, track, registered_at, "
                    "policy_version, policy, workflow_started, stage, phase, overdue, "
                    "uploaded, deadlines, projected_seq, updated_at, handling_unit_id) VALUES "
                    "('XF-2026-000001', 'visit', '张三', '138', 1, 'other', '摘要', '内容', 'u', "
                    "'general', :at, '2026.1', '{}', true, 'replied', 'handling', false, false, "
                    "'[]', 3, :at, 'u')"
                ),
                {"at": dec31},
            )
            for key, kind, minutes in [
                ("b", "reminder", 90),  # 01:30 on 1 January in Beijing: 2027's first
                ("a", "reminder", 0),
                ("c", "reminder", 30),
                ("t", "petitioner", 10),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO notices (petition_id, key, kind, recipient_id, "
                        "recipient_name, recipient_role, text, created_at) VALUES "
                        "('XF-2026-000001', :key, :kind, 'h', '张', 'handler', '催办', :at)"
                    ),
                    {"key": key, "kind": kind, "at": dec31 + timedelta(minutes=minutes)},
                )
            connection.execute(
                text(
                    "INSERT INTO timeline_events (petition_id, seq, at, kind, note) VALUES "
                    "('XF-2026-000001', 4, :at, 'completed', '已答复')"
                ),
                {"at": dec31},
            )

        async with engine.begin() as conn:
            await conn.run_sync(at_0009)
        await migrate(engine)

        async with make_sessionmaker(engine)() as session:
            numbers = {
                n.key: (n.serial_year, n.serial) for n in await session.scalars(select(NoticeRow))
            }
            assert numbers == {
                "a": (2026, 1),
                "c": (2026, 2),
                "b": (2027, 1),
                "t": (None, None),
            }
            reply = (await session.scalars(select(Document))).one()
            assert (reply.kind, reply.key, reply.text) == ("reply_opinion", "reply-4", "已答复")
            assert (reply.serial_year, reply.serial) == (2026, 1)
            assert reply.details == {"unit_id": "u", "phase": "handling"}
            # The counters go on from there.
            assert await numbering.take(session, "reminder", 2026) == 3
    finally:
        await engine.dispose()
