"""The 月报's kept months (store.report_months, migration 0019) never go stale: after a month's
series is kept, a petition registered into it, changed in what the series counts, moved to
another month, deleted, or copied in by a transplant (the simulator's bulk rows) makes the next
月报 equal to one counted afresh, on SQLite and PostgreSQL; and on PostgreSQL a month is not kept
while a registration into it is in flight (it would be missing from the kept counts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain import report_periods as periods
from domain.reports import Report, ReportKind
from store import petitions
from store.db import dispose, make_engine, make_sessionmaker, readers
from store.models import Petition, ReportMonth
from store.reports import build_report
from store.transplant import transplant
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, open_store, register_petition

NOW = datetime(2026, 11, 2, 2, tzinfo=UTC)
AFRESH = datetime(2024, 1, 1, tzinfo=UTC)  # no month of the report closed yet: all counted
OCTOBER = periods.month(2026, 10)


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 3, tzinfo=UTC)


async def kept(sessions: async_sessionmaker[Any]) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(ReportMonth.month)))


async def monthly(sessions: async_sessionmaker[Any], now: datetime) -> Report:
    """As the API builds it, in a reader's session (on SQLite a writer's keeps no month)."""
    async with readers(sessions)() as session:
        return await build_report(session, ReportKind.MONTHLY, OCTOBER, now)


async def as_counted_afresh(sessions: async_sessionmaker[Any]) -> list[Any]:
    """The October 月报 from the kept months, checked equal to one counted afresh; its months
    kept again after. Returns 信访总量（批次）: this month, last month, 环比, last year's month…"""
    report = await monthly(sessions, NOW)
    assert report.model_dump() == (await monthly(sessions, AFRESH)).model_dump()
    assert {"2025-10", "2026-01", "2026-09", "2026-10"} <= await kept(sessions)
    overview = next(t for t in report.tables if t.title == "总体情况")
    return list(overview.rows[0][1:])


async def test_a_kept_month_is_forgotten_by_every_write_into_it(
    sessions: async_sessionmaker[Any], templates: Templates, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    october = [
        await register_petition(sessions, settings=settings, now=at(2026, 10, day), phone=phone)
        for day, phone in ((3, "13800000001"), (4, "13800000002"))
    ]
    september = await register_petition(sessions, settings=settings, now=at(2026, 9))
    last_year = await register_petition(sessions, settings=settings, now=at(2025, 10))
    assert await kept(sessions) == set()
    assert await as_counted_afresh(sessions) == [2, 1, 100.0, 1, 100.0, 3, 1, 200.0]
    every = await kept(sessions)
    assert len(every) == 20  # 2026-01…10, 2025-01…10

    # Registered into a closed month: only that month is forgotten.
    await register_petition(sessions, settings=settings, now=at(2026, 10, 20))
    assert await kept(sessions) == every - {"2026-10"}
    assert (await as_counted_afresh(sessions))[:2] == [3, 1]

    # What the series counts changed (a 进京访 of five), and a petition moved to August.
    async with sessions() as session:
        await session.execute(
            update(Petition)
            .where(Petition.id == last_year)
            .values(persons=5, destination_level="beijing")
        )
        await session.execute(
            update(Petition).where(Petition.id == september).values(registered_at=at(2026, 8))
        )
        await session.commit()
    assert await kept(sessions) == every - {"2025-10", "2026-09", "2026-08"}
    assert (await as_counted_afresh(sessions))[:2] == [3, 0]
    report = await monthly(sessions, NOW)
    overview = {row[0]: row for row in next(t for t in report.tables if t.title == "总体情况").rows}
    assert overview["信访总量（人次）"][4] == 5 and overview["进京访（批次）"][4] == 1

    # A petition deleted (a test's, or a rebuild's).
    async with sessions() as session:
        await session.execute(delete(Petition).where(Petition.id == october[0]))
        await session.commit()
    assert "2026-10" not in await kept(sessions)
    assert (await as_counted_afresh(sessions))[:2] == [2, 0]

    # Bulk rows, as the simulator and a transplant write them (Core INSERT of many rows).
    source = make_sessionmaker(make_engine(await templates.sqlite_copy(tmp_path / "sim.db")))
    played_at = datetime(2028, 10, 12, 3, tzinfo=UTC)
    await register_petition(source, settings=settings, now=played_at)
    async with source() as from_, sessions() as into:
        assert await transplant(from_, into, played_at - at(2026, 10, 12)) == 1
    await dispose(source)
    assert "2026-10" not in await kept(sessions)
    assert (await as_counted_afresh(sessions))[:2] == [3, 0]


async def test_a_month_is_not_kept_while_a_registration_into_it_is_in_flight(
    postgres: str, templates: Templates, tmp_path: Path
) -> None:
    """PostgreSQL: the keeping waits for the petitions' writers (and gives up after a second);
    unlocked, it would count without the uncommitted row, whose trigger found nothing to forget,
    and keep October one petition short. SQLite has one writer at a time: BEGIN IMMEDIATE."""
    settings = make_settings(tmp_path, database_url=await templates.postgres_copy(postgres))
    sessions = await open_store(settings)
    try:
        await register_petition(sessions, settings=settings, now=at(2026, 10, 3))
        async with sessions() as writer:
            row = petitions.intake_row(
                "XF-2026-990001",
                {
                    "channel": "letter",
                    "petitioner_name": "李四",
                    "petitioner_phone": "13800000009",
                    "persons": 1,
                    "category": "other",
                    "summary": "来信",
                    "content": "来信反映问题。",
                    "unit_id": "dongguan",
                    "track": "general",
                },
                at(2026, 10, 21),
                settings.policy_snapshot(),
                "test",
            )
            writer.add(Petition(**row))
            await writer.flush()  # inserted, not committed
            assert (await monthly(sessions, NOW)).tables[0].rows[0][1] == 1
            assert await kept(sessions) == set()
            await writer.commit()
        assert (await as_counted_afresh(sessions))[:2] == [2, 0]
    finally:
        await dispose(sessions)
