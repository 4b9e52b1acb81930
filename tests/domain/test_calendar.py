"""Working-day arithmetic on the real 2026 arrangement, and plans counted in working days.

The 2026 facts (State Council notice, as shipped by chinese_calendar 1.11): 中秋节 Fri 25 – Sun
27 September; 国庆节 Thu 1 – Wed 7 October; Sunday 20 September and Saturday 10 October are
working days (调休上班).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.calendar import (
    WEEKENDS_ONLY,
    DayCount,
    WorkdayCalendar,
    add_working_days,
    china_calendar,
)
from domain.plan import PlannedStep, StepKind, handling_deadline, handling_plan
from domain.policy import BEIJING, EscalationPolicy
from domain.vocabulary import Track

CAL_2026 = china_calendar([2026])
# Thursday 24 September 2026, 09:00 in Beijing.
ACCEPTED = datetime(2026, 9, 24, 1, 0, tzinfo=UTC)
WORKING = EscalationPolicy(day_count=DayCount.WORKING)


def beijing_dates(plan: list[PlannedStep], kind: StepKind) -> list[date]:
    return [s.at.astimezone(BEIJING).date() for s in plan if s.kind == kind]


# ------------------------------------------------------------------ the calendar itself


def test_the_real_2026_autumn_arrangement() -> None:
    assert CAL_2026.covered_years == frozenset({2026})
    national_day = [date(2026, 10, d) for d in (1, 2, 5, 6, 7)]  # the weekdays of 1–7 October
    for d in [date(2026, 9, 25), *national_day]:
        assert d in CAL_2026.holidays
        assert not CAL_2026.is_workday(d)
    assert CAL_2026.name_of(date(2026, 9, 25)) == "中秋节"
    assert CAL_2026.name_of(date(2026, 10, 1)) == "国庆节"
    # 调休: Sunday 20 September and Saturday 10 October are worked.
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= CAL_2026.extra_workdays
    assert CAL_2026.is_workday(date(2026, 9, 20))
    assert CAL_2026.is_workday(date(2026, 10, 10))
    assert not CAL_2026.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    # holidays are weekdays, extra working days are weekends
    assert all(d.weekday() < 5 for d in CAL_2026.holidays)
    assert all(d.weekday() >= 5 for d in CAL_2026.extra_workdays)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Accepted on Friday 25 September (itself 中秋节): Mon 28, Tue 29, Wed 30, then the
        # holiday week, Thu 8, Fri 9 October.
        (date(2026, 9, 25), 5, date(2026, 10, 9)),
        (date(2026, 9, 24), 5, date(2026, 10, 9)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        # the swapped Saturday counts as a working day
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 10, 9), 1, date(2026, 10, 10)),
        (date(2026, 10, 10), 1, date(2026, 10, 12)),
        # the swapped Sunday too
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        (date(2026, 9, 24), 10, date(2026, 10, 15)),
        (date(2026, 9, 24), 0, date(2026, 9, 24)),
    ],
)
def test_add_working_days_across_national_day_2026(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days, CAL_2026) == expected


def test_weekend_rule_without_holiday_data() -> None:
    friday = date(2026, 9, 25)
    assert add_working_days(friday, 1, WEEKENDS_ONLY) == date(2026, 9, 28)
    assert add_working_days(friday, 5, WEEKENDS_ONLY) == date(2026, 10, 2)
    assert add_working_days(date(2026, 9, 26), 1, WEEKENDS_ONLY) == date(2026, 9, 28)
    assert WEEKENDS_ONLY.is_workday(date(2026, 10, 1))
    assert not WEEKENDS_ONLY.is_workday(date(2026, 10, 10))
    assert not WEEKENDS_ONLY.covers(date(2026, 10, 1))


def test_uncovered_year_falls_back_to_weekends() -> None:
    cal = china_calendar([2026, 2027])
    assert cal.covered_years == frozenset({2026})
    assert cal.covers(date(2026, 12, 31))
    assert not cal.covers(date(2027, 1, 1))
    assert cal.uncovered_years(date(2026, 12, 30), date(2027, 1, 5)) == (2027,)
    # Friday 1 January 2027 has no data: only the weekend rule, so it is a working day.
    assert cal.is_workday(date(2027, 1, 1))
    assert add_working_days(date(2026, 12, 31), 2, cal) == date(2027, 1, 4)


def test_a_calendar_of_no_years_is_the_weekend_rule() -> None:
    assert china_calendar([1999]) == WorkdayCalendar()


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 9, 24), -1, CAL_2026)


def test_a_day_cannot_be_both_off_and_worked() -> None:
    d = date(2026, 10, 10)
    with pytest.raises(ValidationError):
        WorkdayCalendar(holidays=frozenset({d}), extra_workdays=frozenset({d}))


def test_calendar_is_data_that_crosses_process_boundaries() -> None:
    again = WorkdayCalendar.model_validate_json(CAL_2026.model_dump_json())
    assert again == CAL_2026
    assert hash(again) == hash(CAL_2026)
    assert again.name_of(date(2026, 10, 10)) == "国庆节"


# ------------------------------------------------------------------ plans in working days


def test_simple_plan_in_working_days_skips_the_holidays() -> None:
    policy = WORKING.model_copy(update={"simple_deadline_days": 10})
    plan = handling_plan(policy, Track.SIMPLE, ACCEPTED, calendar=CAL_2026)
    # 10 working days after Thursday 24 September: 28, 29, 30 Sep; 8, 9, 10 (Sat), 12, 13,
    # 14, 15 Oct.
    assert beijing_dates(plan, StepKind.OVERDUE) == [date(2026, 10, 15)]
    assert beijing_dates(plan, StepKind.ESCALATION) == [
        date(2026, 10, 12),
        date(2026, 10, 21),
        date(2026, 10, 30),
    ]
    # the first reminder lands on the swapped Saturday
    assert beijing_dates(plan, StepKind.REMINDER)[0] == date(2026, 10, 10)
    # same time of day as acceptance, in Beijing
    assert {s.at.astimezone(BEIJING).hour for s in plan} == {9}
    assert all(s.at.tzinfo is not None for s in plan)
    # offsets stay in policy days, and order by offset is order in time
    assert [s.offset_days for s in plan if s.kind == StepKind.ESCALATION] == [7, 14, 21]
    assert [s.at for s in plan] == sorted(s.at for s in plan)
    assert handling_deadline(policy, Track.SIMPLE, ACCEPTED, calendar=CAL_2026) == plan[3].at
    overdue = next(s for s in plan if s.kind == StepKind.OVERDUE)
    assert overdue.reason == (
        "受理后10个工作日（简易信访事项10个工作日内办结，《信访事项简易办理办法》；"
        "按工作日计算，已扣除中秋节、国庆节假期并计入调休上班日）"
    )


def test_working_days_versus_calendar_days() -> None:
    calendar_days = handling_plan(EscalationPolicy(), Track.GENERAL, ACCEPTED, calendar=CAL_2026)
    working_days = handling_plan(WORKING, Track.GENERAL, ACCEPTED, calendar=CAL_2026)
    # The calendar-day policy ignores the calendar it is given.
    assert beijing_dates(calendar_days, StepKind.OVERDUE) == [date(2026, 10, 24)]
    assert beijing_dates(calendar_days, StepKind.ESCALATION)[0] == date(2026, 10, 1)
    # 30 working days: 3 in September, then 27 from 8 October (with Saturday 10 October).
    assert beijing_dates(working_days, StepKind.OVERDUE) == [date(2026, 11, 12)]
    assert [s.key for s in calendar_days] == [s.key for s in working_days]
    assert "日（" in calendar_days[-1].reason and "工作日" not in calendar_days[-1].reason


def test_working_days_need_a_calendar_and_a_real_clock() -> None:
    plain = handling_plan(WORKING, Track.GENERAL, ACCEPTED)
    assert plain[-1].at == ACCEPTED + timedelta(days=30)
    assert "未提供节假日日历，按自然日计算" in plain[-1].reason
    demo = WORKING.model_copy(update={"day_seconds": 1})
    fast = handling_plan(demo, Track.GENERAL, ACCEPTED, calendar=CAL_2026)
    assert fast[-1].at == ACCEPTED + timedelta(seconds=30)
    assert "演示时钟" in fast[-1].reason


def test_acceptance_late_at_night_utc_is_the_next_beijing_day() -> None:
    # 20:00 UTC on Wednesday 30 September is 04:00 on Thursday 1 October in Beijing: a holiday,
    # so the first working day after it is Thursday 8 October.
    late = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    at = handling_deadline(
        WORKING.model_copy(update={"simple_deadline_days": 1}),
        Track.SIMPLE,
        late,
        calendar=CAL_2026,
    )
    assert at == datetime(2026, 10, 7, 20, 0, tzinfo=UTC)
    assert at.astimezone(BEIJING) == datetime(2026, 10, 8, 4, 0, tzinfo=BEIJING)


def test_fractional_reminder_lead_in_working_days() -> None:
    policy = WORKING.model_copy(update={"reminder_lead_days": 0.5, "simple_deadline_days": 10})
    plan = handling_plan(policy, Track.SIMPLE, ACCEPTED, calendar=CAL_2026)
    before = next(s for s in plan if s.key == "reminder-before-overdue")
    # 9.5 working days: the 9th working day (Wednesday 14 October) plus half a day.
    assert before.at.astimezone(BEIJING) == datetime(2026, 10, 14, 21, 0, tzinfo=BEIJING)
    assert [s.at for s in plan] == sorted(s.at for s in plan)


def test_uncovered_year_is_named_in_the_reason() -> None:
    cal = china_calendar([2026, 2027])
    december = datetime(2026, 12, 21, 1, 0, tzinfo=UTC)
    plan = handling_plan(WORKING, Track.GENERAL, december, calendar=cal)
    overdue = plan[-1]
    assert overdue.kind == StepKind.OVERDUE
    assert "2027年节假日数据缺失，仅按周末计算" in overdue.reason
    # 8 working days left in 2026 (22–25, 28–31 December), then weekends only in 2027:
    # Friday 1 January (元旦, but unknown) counts, and the 22nd is Monday 1 February.
    assert overdue.at.astimezone(BEIJING).date() == date(2027, 2, 1)
    first = plan[0]
    assert first.at.year == 2026 and "数据缺失" not in first.reason
