"""The read model as the reports count it (issue 13): petitions grouped by everything the
definitions of ``domain.report_rules`` look at, counted by the database, so a year of 100,000
petitions comes back as a few thousand ``Facts`` instead of 100,000 rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, DateTime, and_, bindparam, func, or_, select
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


def _month_starts(ranges: list[tuple[date, date]]) -> list[date]:
    """The first day of each month the ranges touch, and of the month after the last."""
    at, last = min(s for s, _ in ranges).replace(day=1), max(e for _, e in ranges)
    found = [at]
    while at <= last:
        at = (at + timedelta(days=32)).replace(day=1)
        found.append(at)
    return found


def _month(dialect: str, starts: list[date]) -> tuple[ColumnElement[Any], Callable[[Any], str]]:
    """The Beijing month of registration in the database's own words, and how to name it
    ("2026-10"). On PostgreSQL the month's number among ``starts`` (width_bucket, a binary
    search over a few instants: half the cost per row of date_trunc in Asia/Shanghai, which
    was most of the 月报's year-long count); on SQLite the UTC text shifted by Beijing's eight
    hours (no daylight saving in China), already "2026-10"."""
    if dialect == "postgresql":
        instants = bindparam(
            "month_starts", [day_start(d) for d in starts], type_=ARRAY(DateTime(timezone=True))
        )
        return func.width_bucket(Petition.registered_at, instants), (
            lambda n: f"{starts[n - 1]:%Y-%m}"
        )
    return func.strftime("%Y-%m", Petition.registered_at, "+8 hours"), str


def _columns(
    month: ColumnElement[Any],
) -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    return {
        "month": month,
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
    spans = [(p.start, p.end) for p in (period, *more)]
    ranges = [bounds(p) for p in (period, *more)]
    month, month_key = _month(session.get_bind().dialect.name, _month_starts(spans))
    columns = _columns(month)
    chosen = [columns[name] for name in dimensions]
    # One enclosing range the index can seek to, then the periods themselves: an OR of ranges
    # alone makes PostgreSQL read the whole index and filter it, every year the county has.
    first, last = min(s for s, _ in ranges), max(e for _, e in ranges)
    within_ranges = or_(
        *(and_(Petition.registered_at >= s, Petition.registered_at < e) for s, e in ranges)
    )
    rows = await (await session.connection()).execute(
        select(
            func.count().label("count"),
            func.sum(Petition.persons).label("persons"),
            *(column.label(name) for name, column in zip(dimensions, chosen, strict=True)),
        )
        .where(Petition.registered_at >= first, Petition.registered_at < last, within_ranges)
        .group_by(*chosen)
    )
    # Each column's conversion, chosen once rather than looked up per group: a month's
    # groups per unit and outcome are some thousand, and this loop was a tenth of the 月报.
    convert: list[Callable[[Any], Any]] = [
        month_key if name == "month" else bool if name in _FLAGS else _same for name in dimensions
    ]
    found = []
    for count, persons, *values in rows:
        shared = {name: c(v) for name, c, v in zip(dimensions, convert, values, strict=True)}
        found.append(Facts(count=count, persons=int(persons), **shared))
    return found


def _same(value: Any) -> Any:
    return value


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
