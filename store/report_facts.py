"""The read model as the reports count it (issue 13): petitions grouped by everything the
definitions of ``domain.report_rules`` look at, counted by the database, so a year of 100,000
petitions comes back as a few thousand ``Facts`` instead of 100,000 rows."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Executable

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


Month = tuple[str, datetime, datetime]  # "2026-10" and its instant range [start, end)


def months_of(periods: list[ReportPeriod]) -> list[Month]:
    """Each Beijing month the periods touch ("2026-10"), as the instant range [start, end)
    of its days within them."""
    found = []
    for period in periods:
        at = period.start
        while at <= period.end:
            following = (at.replace(day=1) + timedelta(days=32)).replace(day=1)
            last = min(period.end, following - timedelta(days=1))
            found.append((f"{at:%Y-%m}", day_start(at), day_start(last + timedelta(days=1))))
            at = following
    return found


def _columns() -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    return {
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
    if "month" in dimensions:
        return await count_months(
            await session.connection(), dimensions, months_of([period, *more])
        )
    ranges = [bounds(p) for p in (period, *more)]
    params: dict[str, datetime] = {}
    for n, (start, end) in enumerate(ranges):
        params[f"start_{n}"], params[f"end_{n}"] = start, end
    rows = await (await session.connection()).execute(_in_periods(dimensions, len(ranges)), params)
    return _as_facts(rows.all(), dimensions)


async def count_months(
    connection: AsyncConnection, dimensions: tuple[str, ...], months: list[Month]
) -> list[Facts]:
    """The petitions of each of ``months`` (from ``months_of``) grouped by ``dimensions``, which
    name "month"."""
    if not months:
        return []
    # One count per month, each over its own index range, named by the month: a tenth of
    # the database's time of naming each row's Beijing month (date_trunc in Asia/Shanghai
    # or width_bucket), which was most of the 月报's year-long series; alike on SQLite.
    query = _per_month(dimensions, len(months))
    params: dict[str, Any] = {
        f"{part}_{n}": v
        for n, month in enumerate(months)
        for part, v in zip(_PARTS, month, strict=True)
    }
    returned = (*(name for name in dimensions if name != "month"), "month")
    return _as_facts((await connection.execute(query, params)).all(), returned)


def _as_facts(rows: Iterable[Any], dimensions: tuple[str, ...]) -> list[Facts]:
    # A month's groups per unit and outcome are some thousand, and this loop was a fifth of
    # the 月报's Python time: the flags come as bool already (SQLAlchemy's Boolean on SQLite
    # too), so each group is zipped with its names as it comes.
    return [
        Facts.grouped(count, int(persons), zip(dimensions, shared, strict=True))
        for count, persons, *shared in rows
    ]


def _counted(dimensions: tuple[str, ...], *where: ColumnElement[bool]) -> Select[Any]:
    columns = _columns()
    chosen = [columns[name] for name in dimensions]
    return (
        select(
            func.count().label("count"),
            func.sum(Petition.persons).label("persons"),
            *(column.label(name) for name, column in zip(dimensions, chosen, strict=True)),
        )
        .where(*where)
        .group_by(*chosen)
    )


_PARTS = ("month", "start", "end")


@functools.cache
def _in_periods(dimensions: tuple[str, ...], spans: int) -> Executable:
    """The count over ``spans`` instant ranges bound at the call, built once per shape (building
    the select was a third of a small count's Python time)."""
    registered = Petition.registered_at
    return _counted(
        dimensions,
        or_(
            *(
                and_(registered >= bindparam(f"start_{n}"), registered < bindparam(f"end_{n}"))
                for n in range(spans)
            )
        ),
    )


@functools.cache
def _per_month(dimensions: tuple[str, ...], months: int) -> Executable:
    """The count of each of ``months`` months apart, their ranges and names bound at the
    call: built once per shape, as building twenty selects cost the 月报 more Python time than
    the database took for them."""
    registered = Petition.registered_at
    shared = tuple(name for name in dimensions if name != "month")
    return union_all(
        *(
            _counted(
                shared, registered >= bindparam(f"start_{n}"), registered < bindparam(f"end_{n}")
            ).add_columns(bindparam(f"month_{n}", type_=String).label("month"))
            for n in range(months)
        )
    )


def within(found: list[Facts], period: ReportPeriod) -> list[Facts]:
    """The facts of the whole months of ``period`` (the monthly report's periods are months)."""
    wanted = set(months(period))
    return [f for f in found if f.month in wanted]
