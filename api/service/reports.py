"""The bureau's reports over the API (issue 13): the period a request names, the report built
from the read model, and what the bureau records for them (reception days, the AB roster,
专报 marks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Invalid, NotAllowed, require
from api.report_schemas import (
    DutyIn,
    DutyPublic,
    ReceptionIn,
    ReceptionPublic,
    SpecialIn,
    SpecialPublic,
)
from api.service.case import Case
from core.report_files import page, workbook
from domain import report_periods as periods
from domain.access import Action, Principal
from domain.policy import BEIJING
from domain.reports import Report, ReportKind, ReportPeriod
from store import directory, petitions, receptions
from store.models import DutyDay, LeaderReception
from store.report_monthly import unit_names
from store.reports import build_report

# The longest period a report is asked for (a 专报 list over a year at most).
LONGEST = timedelta(days=366)


@dataclass(frozen=True)
class PeriodQuery:
    """What the query named: a day (?date=), an ISO week (?year=&week=), a month (?year=&month=)
    or, for the 专报, a range (?start=&end=)."""

    on: date | None = None
    year: int | None = None
    month: int | None = None
    week: int | None = None
    start: date | None = None
    end: date | None = None


# The years a report may cover: the record's, not year 1 or 9999 (whose days have no instant).
YEARS = range(2000, 2101)


def _in_years(**days: date | None) -> None:
    for name, day in days.items():
        if day is not None and day.year not in YEARS:
            raise Invalid(name, "period", "a day between 2000 and 2100", str(day), "query")


def period_of(kind: ReportKind, asked: PeriodQuery, today: date) -> ReportPeriod:
    """The report's period: as asked, or the latest whole one (yesterday's week for a 周报
    asked on Monday, last month for a 月报); Invalid (422) naming the parameter otherwise."""
    _in_years(date=asked.on, start=asked.start, end=asked.end)
    try:
        if kind is ReportKind.MONTHLY:
            if (asked.year is None) != (asked.month is None):
                raise Invalid("month", "period", "give both year and month", asked.month, "query")
            if asked.year is None or asked.month is None:
                return periods.previous(periods.month(today.year, today.month))
            return periods.month(asked.year, asked.month)
        if kind is ReportKind.WEEKLY:
            if (asked.year is None) != (asked.week is None):
                raise Invalid("week", "period", "give both year and week", asked.week, "query")
            if asked.year is None or asked.week is None:
                return periods.previous(periods.week(*today.isocalendar()[:2]))
            return periods.week(asked.year, asked.week)
    except periods.BadPeriod as exc:
        raise Invalid("period", "period", str(exc), None, "query") from exc
    if kind is ReportKind.SPECIAL and (asked.start or asked.end):
        start, end = asked.start or asked.end, asked.end or asked.start
        assert start is not None and end is not None
        if end < start or end - start > LONGEST:
            raise Invalid("end", "period", "end before start, or over a year", str(end), "query")
        return ReportPeriod(start=start, end=end)
    return periods.day(asked.on or today)


def _require_reports_reader(reader: Principal) -> None:
    if not reader.reads_reports:
        raise NotAllowed(
            f"{reader.username} may not read the reports: the bureau and the county leaders do"
        )


async def report(
    session: AsyncSession, reader: Principal, kind: ReportKind, asked: PeriodQuery
) -> Report:
    _require_reports_reader(reader)
    now = petitions.utcnow()
    period = period_of(kind, asked, now.astimezone(BEIJING).date())
    return await build_report(session, kind, period, now)


async def as_xlsx(session: AsyncSession, built: Report) -> bytes:
    return workbook(built, await unit_names(session))


async def as_html(session: AsyncSession, built: Report) -> str:
    bureau = await directory.bureau_unit_id(session)
    unit = await directory.get_unit(session, bureau) if bureau else None
    return page(built, await unit_names(session), unit.name if unit else "信访局")


async def _person_name(session: AsyncSession, field: str, person_id: str) -> str:
    found = await receptions.names(session, {person_id})
    if person_id not in found:
        raise Invalid(field, "unknown_person", f"no person {person_id}", person_id)
    return found[person_id]


async def record_reception(
    session: AsyncSession, reader: Principal, body: ReceptionIn
) -> ReceptionPublic:
    require(reader, Action.RECORD_RECEPTION)
    name = await _person_name(session, "leader_id", body.leader_id)
    row = await receptions.record_reception(
        session,
        LeaderReception(
            **body.model_dump(), recorded_by=reader.username, recorded_at=petitions.utcnow()
        ),
    )
    return _reception(row, name)


def _reception(row: LeaderReception, name: str) -> ReceptionPublic:
    return ReceptionPublic(
        id=row.id,
        leader_id=row.leader_id,
        leader_name=name,
        day=row.day,
        persons=row.persons,
        petitions=row.petitions,
        signed_instructions=row.signed_instructions,
        note=row.note,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _range(start: date | None, end: date | None) -> tuple[date, date]:
    _in_years(start=start, end=end)
    today = petitions.utcnow().astimezone(BEIJING).date()
    start = start or today - timedelta(days=6)
    end = end or max(today, start)
    if end < start or end - start > LONGEST:
        raise Invalid("end", "period", "end before start, or over a year", str(end), "query")
    return start, end


async def list_receptions(
    session: AsyncSession, reader: Principal, start: date | None, end: date | None
) -> list[ReceptionPublic]:
    _require_reports_reader(reader)
    first, last = _range(start, end)
    found = await receptions.receptions(session, first, last)
    return [_reception(row, person.name) for row, person in found]


async def set_duty(session: AsyncSession, reader: Principal, day: date, body: DutyIn) -> DutyPublic:
    require(reader, Action.RECORD_RECEPTION)
    a = await _person_name(session, "a_person_id", body.a_person_id)
    b = await _person_name(session, "b_person_id", body.b_person_id)
    row = await receptions.set_duty(
        session,
        DutyDay(
            day=day,
            **body.model_dump(),
            recorded_by=reader.username,
            recorded_at=petitions.utcnow(),
        ),
    )
    return DutyPublic(
        day=row.day, **body.model_dump(), a_name=a, b_name=b, recorded_by=row.recorded_by
    )


async def duty_roster(
    session: AsyncSession, reader: Principal, start: date | None, end: date | None
) -> list[DutyPublic]:
    _require_reports_reader(reader)
    first, last = _range(start, end)
    days = await receptions.duty_roster(session, first, last)
    names = await receptions.names(
        session, {d.a_person_id for d in days} | {d.b_person_id for d in days}
    )
    return [
        DutyPublic(
            day=d.day,
            a_person_id=d.a_person_id,
            b_person_id=d.b_person_id,
            a_name=names.get(d.a_person_id, d.a_person_id),
            b_name=names.get(d.b_person_id, d.b_person_id),
            recorded_by=d.recorded_by,
        )
        for d in days
    ]


async def mark_special(case: Case, body: SpecialIn) -> SpecialPublic:
    """专报: marked, and in the principal leaders' inboxes at once with the case's timeline."""
    row = await case.petition()  # 404 outside the reader's reach, 403 unless the bureau's
    marked = await receptions.mark_special(
        case.session, row.id, body.kind.value, body.reason, case.reader.username, _now()
    )
    report = marked.report
    return SpecialPublic(
        id=report.id,
        petition_id=report.petition_id,
        kind=body.kind,
        reason=report.reason,
        marked_by=report.marked_by,
        marked_at=report.marked_at,
        notified=[n.recipient_name for n in marked.notices],
    )


def _now() -> datetime:
    return petitions.utcnow()
