"""The periods the reports cover (issue 13): a day (日报), an ISO week from Monday (周报), a
month (月报) and the year to date (1-10月), the same period of last year (同比) and the one
before (环比), and how a report names each in Chinese."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from domain.reports import ReportPeriod


class BadPeriod(ValueError):
    """A period that is no calendar day, week or month (2026-13, week 54): the API's 422."""


def day(of: date) -> ReportPeriod:
    return ReportPeriod(start=of, end=of)


def week(year: int, number: int) -> ReportPeriod:
    """ISO week ``number`` of ``year``, Monday to Sunday (the 周报 goes out on the Monday after)."""
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise BadPeriod(f"{year} has no ISO week {number}") from exc
    return ReportPeriod(start=monday, end=monday + timedelta(days=6))


def month(year: int, number: int) -> ReportPeriod:
    if not 1 <= number <= 12 or not 1 <= year <= 9998:
        raise BadPeriod(f"no month {year}-{number}")
    last = calendar.monthrange(year, number)[1]
    return ReportPeriod(start=date(year, number, 1), end=date(year, number, last))


def is_month(period: ReportPeriod) -> bool:
    start, end = period.start, period.end
    return (
        start.day == 1
        and (start.year, start.month) == (end.year, end.month)
        and (end.day == calendar.monthrange(end.year, end.month)[1])
    )


def year_to_date(period: ReportPeriod) -> ReportPeriod:
    """From 1 January of the period's year to its end: the seeds' "1-10月"."""
    return ReportPeriod(start=date(period.end.year, 1, 1), end=period.end)


def _a_year_before(moment: date) -> date:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February: the 28th of the year before
        return moment.replace(year=moment.year - 1, day=28)


def last_year(period: ReportPeriod) -> ReportPeriod:
    """The same period a year before (同比)."""
    if is_month(period):
        return month(period.start.year - 1, period.start.month)
    return ReportPeriod(start=_a_year_before(period.start), end=_a_year_before(period.end))


def previous(period: ReportPeriod) -> ReportPeriod:
    """The period just before (环比): the month before a month, else as many days before."""
    if is_month(period):
        before = period.start - timedelta(days=1)
        return month(before.year, before.month)
    length = period.end - period.start + timedelta(days=1)
    return ReportPeriod(start=period.start - length, end=period.end - length)


def months(period: ReportPeriod) -> list[str]:
    """The months a period touches, as the facts name them ("2026-10")."""
    found, at = [], period.start.replace(day=1)
    while at <= period.end:
        found.append(f"{at.year:04d}-{at.month:02d}")
        at = (at + timedelta(days=32)).replace(day=1)
    return found


def label(period: ReportPeriod) -> str:
    """How a report names its period: 2026年10月20日, 2026年10月19日至10月25日, 2026年10月,
    2026年1-10月."""
    start, end = period.start, period.end
    if start == end:
        return f"{start.year}年{start.month}月{start.day}日"
    if is_month(period):
        return f"{start.year}年{start.month}月"
    if start == date(end.year, 1, 1) and is_month(ReportPeriod(start=end.replace(day=1), end=end)):
        return f"{end.year}年1-{end.month}月" if end.month > 1 else f"{end.year}年1月"
    return f"{start.year}年{start.month}月{start.day}日至{end.month}月{end.day}日"
