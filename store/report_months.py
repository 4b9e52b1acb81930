"""The 月报's year-long series (issue 13) with a closed month's counts kept: a report counts
only the months still open (and any closed month not kept yet) and reads the others from
``report_months``/``report_month_counts``, a few rows a month instead of a count over some
8,000 petitions each, two years of them.

What is kept is what ``store.report_facts.SERIES`` groups by: the month of registration, the
channel, 集体访 (persons) and 去向 (destination level), intake fields that never change after
registration. It stays exact because a trigger on ``petitions`` (migration 0019) deletes a kept
month in the same transaction as any insert, delete or change of those fields of a petition in
it, whatever code writes it; the month is counted again at its next report. A month is kept
under a lock that waits for the petitions' writers in flight and holds new ones off until the
counts are committed, so no registration can fall between the count and its keeping."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from domain import report_periods as periods
from domain.report_rules import Facts
from store.db import READ_ONLY
from store.models import ReportMonth, ReportMonthCount
from store.report_facts import SERIES, Month, bounds, count_months

log = logging.getLogger(__name__)
# What a kept month holds of each group (the columns of report_month_counts).
_COUNTED = ("month", "channel", "collective", "destination", "count", "persons")

# How long keeping a month waits for the petitions' writers before it gives up (and the
# report counts that month itself): registrations queue behind a waiting lock.
LOCK_TIMEOUT = "1s"


async def series(session: AsyncSession, months: list[Month], now: datetime) -> list[Facts]:
    """The petitions of ``months`` grouped by ``SERIES`` (as ``report_facts.count_months``
    counts them), the closed whole months read from what is kept, kept on first use."""
    closed = [m for m in months if m[2] <= now and _whole(m)]
    keeper = _keeper(session)
    connection = await session.connection()
    found, have = await _read(connection, [m[0] for m in closed])
    missing = [m for m in closed if m[0] not in have]
    if missing and keeper is not None:
        kept = await _keep(keeper, missing, now)
        if kept is not None:
            found += kept
            have.update(m[0] for m in missing)
    return found + await count_months(connection, SERIES, [m for m in months if m[0] not in have])


def _whole(month: Month) -> bool:
    """A calendar month from its first day to its last (a period may end mid-month)."""
    name, start, end = month
    first, following = _first_days(name)
    return start == first and end == following


def _first_days(name: str) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in name.split("-"))
    return bounds(periods.month(year, number))


def _keeper(session: AsyncSession) -> AsyncEngine | None:
    """The engine to keep months with, on a connection of its own; None when that would wait
    for the session itself: on SQLite a session that writes takes the write lock with its first
    statement (BEGIN IMMEDIATE), so only readers' sessions (``store.db.readers``: the API's
    GETs) keep months there."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine):
        return None
    if bind.dialect.name != "sqlite" or bind.get_execution_options().get(READ_ONLY):
        return bind
    return None


async def _read(connection: AsyncConnection, names: list[str]) -> tuple[list[Facts], set[str]]:
    """The kept facts of the months ``names`` among them, and which of them are kept."""
    if not names:
        return [], set()
    counts = ReportMonthCount
    rows = await connection.execute(
        select(
            ReportMonth.month,
            counts.channel,
            counts.collective,
            counts.destination,
            counts.count,
            counts.persons,
        )
        .outerjoin(counts, counts.month == ReportMonth.month)
        .where(ReportMonth.month.in_(names))
    )
    found: list[Facts] = []
    have: set[str] = set()
    for month, channel, collective, destination, count, persons in rows.all():
        have.add(month)
        if channel is not None:  # a kept month without a petition has no counts
            found.append(
                Facts(
                    count=count,
                    persons=persons,
                    month=month,
                    channel=channel,
                    collective=bool(collective),
                    destination=destination,
                )
            )
    return found, have


async def _keep(engine: AsyncEngine, months: list[Month], now: datetime) -> list[Facts] | None:
    """Count ``months`` and keep them, in a transaction of their own on the writers' terms;
    their facts, or None when the petitions' writers held the lock too long (or the database
    refused the write): the report then counts those months itself."""
    writer = engine.execution_options(**{READ_ONLY: False})
    names = [m[0] for m in months]
    try:
        async with writer.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Waits for every transaction writing petitions, holds off new ones until the
                # commit (and any other keeping: the mode conflicts with itself).
                await connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                await connection.exec_driver_sql("LOCK TABLE petitions IN SHARE ROW EXCLUSIVE MODE")
            # SQLite: the writer's BEGIN IMMEDIATE is the lock.
            found = await count_months(connection, SERIES, months)
            await connection.execute(
                delete(ReportMonthCount).where(ReportMonthCount.month.in_(names))
            )
            await connection.execute(delete(ReportMonth).where(ReportMonth.month.in_(names)))
            await connection.execute(
                insert(ReportMonth),
                [dict(month=n, starts_at=s, ends_at=e, counted_at=now) for n, s, e in months],
            )
            if found:
                rows = [{name: getattr(f, name) for name in _COUNTED} for f in found]
                await connection.execute(insert(ReportMonthCount), rows)
    except DBAPIError as exc:
        log.warning("the 月报's months %s not kept, counted instead: %s", names, exc)
        return None
    return found
