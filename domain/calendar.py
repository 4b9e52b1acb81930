"""Working-day arithmetic (工作日计算) for units whose local rules count working days.

Everything here is pure except :func:`china_calendar`, the builder that reads the public-holiday
tables of the ``chinese_calendar`` package. Only activities call it: a workflow receives the
finished :class:`WorkdayCalendar` as data, so its clock never depends on what is installed on
the worker that happens to replay it.

A day is a working day when it is an extra working day (a swapped weekend, 调休上班日), or else
when it is neither a public holiday nor a Saturday or Sunday. Years a calendar does not cover fall
back to the weekend rule alone, and say so (:meth:`WorkdayCalendar.uncovered_years`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DayCount(StrEnum):
    """How a policy counts its days (计算方式)."""

    CALENDAR = "calendar"  # 自然日
    WORKING = "working"  # 工作日


class WorkdayCalendar(BaseModel):
    """Which dates are working days: the weekend rule corrected by two sets of exceptions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Weekdays that are days off (法定节假日 and the weekdays of its 调休 block).
    holidays: frozenset[date] = frozenset()
    # Saturdays and Sundays that are working days (调休上班日).
    extra_workdays: frozenset[date] = frozenset()
    # Years whose official arrangement the two sets above reflect.
    covered_years: frozenset[int] = frozenset()
    # Optional zh-CN names, for the reasons a plan gives: 2026-10-01 → "国庆节". Holds the
    # holidays and the extra working days (named after the holiday they are swapped for).
    holiday_names: Mapping[date, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sets_are_disjoint(self) -> Self:
        both = self.holidays & self.extra_workdays
        if both:
            raise ValueError(
                "a date cannot be both a holiday and an extra working day: "
                + ", ".join(d.isoformat() for d in sorted(both))
            )
        return self

    def __hash__(self) -> int:
        # The frozen model's generated hash would choke on the mapping.
        return hash(
            (
                self.holidays,
                self.extra_workdays,
                self.covered_years,
                frozenset(self.holiday_names.items()),
            )
        )

    def is_workday(self, d: date) -> bool:
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def covers(self, d: date) -> bool:
        """Whether ``d``'s year has holiday data (otherwise only the weekend rule applies)."""
        return d.year in self.covered_years

    def uncovered_years(self, start: date, end: date) -> tuple[int, ...]:
        """The years in ``start..end`` (inclusive, either order) without holiday data."""
        lo, hi = sorted((start.year, end.year))
        return tuple(y for y in range(lo, hi + 1) if y not in self.covered_years)

    def name_of(self, d: date) -> str | None:
        return self.holiday_names.get(d)


WEEKENDS_ONLY = WorkdayCalendar()
"""A calendar without holiday data: Monday to Friday are working days, every year."""


def add_working_days(start: date, days: int, cal: WorkdayCalendar) -> date:
    """The date ``days`` working days after ``start``; ``start`` itself is not counted.

    A petition accepted on a holiday or a weekend starts counting on the next working day.
    ``days == 0`` is ``start`` itself.
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    d = start
    left = days
    while left:
        d += timedelta(days=1)
        if cal.is_workday(d):
            left -= 1
    return d


# chinese_calendar names its holidays in English; the plans speak zh-CN.
_HOLIDAY_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def china_calendar(years: Iterable[int]) -> WorkdayCalendar:
    """The official mainland-China arrangement for ``years``, from ``chinese_calendar``.

    NOT pure: it reads the package's tables, which change with each release. Call it from an
    activity and hand the result to the workflow. Years the package does not cover are left out
    of ``covered_years``; for them only the weekend rule applies.
    """
    # Imported here: the workflow sandbox imports this module and must never need the package.
    import chinese_calendar

    holidays: set[date] = set()
    extra: set[date] = set()
    names: dict[date, str] = {}
    covered: set[int] = set()
    for year in sorted(set(years)):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue
        covered.add(year)
        d = date(year, 1, 1)
        while d.year == year:
            workday = bool(chinese_calendar.is_workday(d))
            weekend = d.weekday() >= 5
            if weekend == workday:  # a weekday off, or a weekend worked
                (extra if workday else holidays).add(d)
                _, name = chinese_calendar.get_holiday_detail(d)
                if name is not None:
                    names[d] = _HOLIDAY_ZH.get(str(name), str(name))
            d += timedelta(days=1)
    return WorkdayCalendar(
        holidays=frozenset(holidays),
        extra_workdays=frozenset(extra),
        covered_years=frozenset(covered),
        holiday_names=names,
    )
