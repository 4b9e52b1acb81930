"""The read model as the reports count it (issue 13): petitions grouped by everything the
definitions of ``domain.report_rules`` look at, counted by the database, so a year of 100,000
petitions comes back as a few thousand ``Facts`` instead of 100,000 rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.policy import BEIJING
from domain.report_periods import months
from domain.report_rules import COLLECTIVE_PERSONS, Facts
from domain.reports import ReportPeriod
from store.models import Petition


def bounds(period: ReportPeriod) -> tuple[datetime, datetime]:
    """The period's Beijing days as an instant range [start, end)."""
    return day_start(period.start), day_start(period.end + timedelta(days=1))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, BEIJING)


def _month(dialect: str) -> ColumnElement[Any]:
    """The Beijing month of registration in the database's own words: on PostgreSQL the
    month's first instant (date_trunc in Asia/Shanghai, cheaper per row than formatting it),
    on SQLite "2026-10" already. ``_month_key`` names both alike."""
    if dialect == "postgresql":
        return func.date_trunc("month", Petition.registered_at, "Asia/Shanghai")
    # SQLite keeps UTC text: shift it by Beijing's eight hours (no daylight saving in China).
    return func.strftime("%Y-%m", Petition.registered_at, "+8 hours")


def _month_key(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    moment = value.astimezone(BEIJING)
    return f"{moment.year:04d}-{moment.month:02d}"


def _columns(dialect: str) -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    return {
        "month": _month(dialect),
        "unit_id": Petition.unit_id,
        "channel": Petition.channel,
        "category": Petition.category,
        "track": Petition.track,
        "destination": Petition.destination_level,
        "collective": Petition.persons >= COLLECTIVE_PERSONS,
        "first_time": Petition.first_time,
        "key_petitioner": Petition.key_petitioner,
        "stage": Petition.stage,
        "phase": Petition.phase,
        "accepted": Petition.accepted_at.is_not(None),
        "unaccepted_overdue": Petition.unaccepted_overdue,
        "completed": Petition.completed_at.is_not(None),
        "handling_overdue": Petition.handling_overdue,
        "rating": Petition.rating,
        "closure": Petition.closure,
    }


# The groupings a report asks for: grouping by everything at once would return nearly one
# group per petition over a year (months × units × categories × stages…), so each table asks
# the database for only the dimensions it reads; the others keep Facts' defaults.
SERIES = ("month", "channel", "collective", "destination")  # totals, 来访, 集体访, 越级访
RATES = (
    "first_time",
    "stage",
    "phase",
    "accepted",
    "unaccepted_overdue",
    "completed",
    "handling_overdue",
    "rating",
    "closure",
)
UNITS = ("unit_id", "channel", "collective", "destination", *RATES)  # the ranking, the rates


async def facts(
    session: AsyncSession, period: ReportPeriod, dimensions: tuple[str, ...], *more: ReportPeriod
) -> list[Facts]:
    """The petitions registered within ``period`` (and the ``more`` periods, which must not
    overlap it), grouped by ``dimensions`` (names of Facts' fields), counted by the database."""
    ranges = [bounds(p) for p in (period, *more)]
    columns = _columns(session.get_bind().dialect.name)
    chosen = [columns[name] for name in dimensions]
    rows = await (await session.connection()).execute(
        select(
            func.count().label("count"),
            func.sum(Petition.persons).label("persons"),
            *(column.label(name) for name, column in zip(dimensions, chosen, strict=True)),
        )
        .where(
            or_(
                *(
                    and_(Petition.registered_at >= start, Petition.registered_at < end)
                    for start, end in ranges
                )
            )
        )
        .group_by(*chosen)
    )
    flags = [name for name in dimensions if name in _FLAGS]
    return [
        Facts(
            **{
                **row._asdict(),
                "persons": int(row.persons),
                **({"month": _month_key(row.month)} if "month" in dimensions else {}),
                **{flag: bool(getattr(row, flag)) for flag in flags},
            }
        )
        for row in rows
    ]


_FLAGS = (
    "collective",
    "first_time",
    "key_petitioner",
    "accepted",
    "unaccepted_overdue",
    "completed",
    "handling_overdue",
)


def within(found: list[Facts], period: ReportPeriod) -> list[Facts]:
    """The facts of the whole months of ``period`` (the monthly report's periods are months)."""
    wanted = set(months(period))
    return [f for f in found if f.month in wanted]
