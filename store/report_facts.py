"""The read model as the reports count it (issue 13): petitions grouped by everything the
definitions of ``domain.report_rules`` look at, counted by the database, so a year of 100,000
petitions comes back as a few thousand ``Facts`` instead of 100,000 rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
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
    """The Beijing month of registration, "2026-10", in the database's own words."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Petition.registered_at), "YYYY-MM")
    # SQLite keeps UTC text: shift it by Beijing's eight hours (no daylight saving in China).
    return func.strftime("%Y-%m", Petition.registered_at, "+8 hours")


async def facts(session: AsyncSession, period: ReportPeriod) -> list[Facts]:
    """The petitions registered within ``period``, grouped as the reports count them."""
    start, end = bounds(period)
    dimensions: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]] = {
        "month": _month(session.get_bind().dialect.name),
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
    labelled = [column.label(name) for name, column in dimensions.items()]
    rows = await session.execute(
        select(func.count().label("count"), func.sum(Petition.persons).label("persons"), *labelled)
        .where(Petition.registered_at >= start, Petition.registered_at < end)
        .group_by(*(column for column in dimensions.values()))
    )
    return [
        Facts(
            **{
                **row._asdict(),
                "persons": int(row.persons),
                **{flag: bool(getattr(row, flag)) for flag in _FLAGS},
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
