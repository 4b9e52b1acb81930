"""Quiet hours and urgency (issue 11, item 4): across a night, a weekend, the 2026 National Day
week and its swapped working Saturday, in Beijing time whatever zone ``now`` comes in.

2026 facts (chinese_calendar, as in test_calendar.py): 国庆节 Thu 1 – Wed 7 October, Saturday
10 October a working day (调休上班); Sunday 20 September a working day too."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain.calendar import china_calendar
from domain.policy import BEIJING
from domain.quiet_hours import (
    DEFAULT_QUIET_WINDOW,
    QuietWindow,
    Urgency,
    quiet_hours_apply,
    release_at,
    urgency,
)
from domain.vocabulary import NoticeKind, Role

CAL_2026 = china_calendar([2026])
K = NoticeKind


def bj(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=BEIJING)


def reminder(now: datetime) -> datetime:
    return release_at(now, K.REMINDER, Role.HANDLER, DEFAULT_QUIET_WINDOW, CAL_2026)


# ------------------------------------------------------------------------------ urgency


def test_escalations_to_county_leaders_go_at_once_and_office_work_waits_for_a_working_day() -> None:
    for role in (Role.COUNTY_CONTACT_LEADER, Role.COUNTY_PRINCIPAL_LEADER, Role.CASE_OWNER):
        assert urgency(K.SUPERVISION, role) is Urgency.AT_ONCE
        assert urgency(K.OVERDUE, role) is Urgency.AT_ONCE
        assert urgency(K.REMINDER, role) is Urgency.WORKING_MORNING  # a reminder is no alarm
    assert urgency(K.SUPERVISION, Role.UNIT_HEAD) is Urgency.MORNING
    assert urgency(K.OVERDUE, Role.BUREAU_DISPATCHER) is Urgency.MORNING
    assert urgency(K.PETITIONER, Role.PETITIONER) is Urgency.MORNING
    assert urgency(K.ASSIGNMENT, Role.HANDLER) is Urgency.WORKING_MORNING
    assert urgency(K.UPLOAD_REFUSED, Role.BUREAU_DISPATCHER) is Urgency.WORKING_MORNING


# ------------------------------------------------------------------------------ a night


def test_a_reminder_waits_out_the_night() -> None:
    # Tuesday 13 October 2026, an ordinary working week.
    assert reminder(bj(10, 13, 23, 30)) == bj(10, 14, 7)
    assert reminder(bj(10, 14, 3)) == bj(10, 14, 7)
    assert reminder(bj(10, 13, 22)) == bj(10, 14, 7)  # the window includes its start
    assert reminder(bj(10, 14, 6, 59, 59)) == bj(10, 14, 7)


def test_outside_the_window_it_goes_at_once_as_the_same_moment() -> None:
    for now in (bj(10, 14, 7), bj(10, 13, 21, 59, 59), bj(10, 13, 12)):
        assert reminder(now) is now  # the workflow sleeps only when the answer differs


def test_a_county_leaders_supervision_goes_at_night_a_unit_heads_in_the_morning() -> None:
    night = bj(10, 14, 2)
    for kind in (K.SUPERVISION, K.OVERDUE):
        assert release_at(night, kind, Role.COUNTY_CONTACT_LEADER, calendar=CAL_2026) is night
    assert release_at(night, K.SUPERVISION, Role.UNIT_HEAD, calendar=CAL_2026) == bj(10, 14, 7)


# ------------------------------------------------------------------------------ a weekend


def test_a_reminder_on_friday_night_waits_for_monday_morning() -> None:
    assert reminder(bj(10, 16, 23)) == bj(10, 19, 7)  # Fri 16 → Mon 19 October
    assert reminder(bj(10, 17, 10)) == bj(10, 19, 7)  # Saturday daytime waits too
    assert reminder(bj(10, 18, 23, 59)) == bj(10, 19, 7)


def test_what_waits_for_the_morning_only_goes_on_a_weekend_morning() -> None:
    saturday_night = bj(10, 17, 23)
    sunday_morning = bj(10, 18, 7)
    assert release_at(saturday_night, K.SUPERVISION, Role.UNIT_HEAD) == sunday_morning
    assert release_at(saturday_night, K.PETITIONER, Role.PETITIONER) == sunday_morning
    saturday_noon = bj(10, 17, 12)
    assert release_at(saturday_noon, K.PETITIONER, Role.PETITIONER) is saturday_noon


# ------------------------------------------------------------------------------ National Day


def test_a_reminder_on_the_eve_of_national_day_waits_the_whole_golden_week() -> None:
    assert reminder(bj(9, 30, 22, 30)) == bj(10, 8, 7)  # Wed 30 Sep → Thu 8 Oct
    assert reminder(bj(10, 3, 15)) == bj(10, 8, 7)
    assert reminder(bj(10, 7, 23)) == bj(10, 8, 7)


def test_the_swapped_working_days_are_working_days() -> None:
    assert reminder(bj(10, 10, 3)) == bj(10, 10, 7)  # Saturday 10 October is worked (调休)
    sunday_worked = bj(9, 20, 10)
    assert reminder(sunday_worked) is sunday_worked
    assert reminder(bj(10, 10, 23)) == bj(10, 12, 7)  # then Sunday 11 is off again


def test_without_a_calendar_only_the_weekends_wait() -> None:
    national_day = bj(10, 1, 10)  # a Thursday: a working day by the weekend rule
    assert release_at(national_day, K.REMINDER, Role.HANDLER) is national_day


def test_a_county_leader_is_told_of_an_overdue_petition_during_the_holiday() -> None:
    holiday_night = bj(10, 2, 1)
    for role in (Role.COUNTY_PRINCIPAL_LEADER, Role.CASE_OWNER):
        assert release_at(holiday_night, K.OVERDUE, role, calendar=CAL_2026) is holiday_night


# ------------------------------------------------------------------------------ time zones


def test_beijing_midnight_is_read_from_utc() -> None:
    # Friday 16 October 15:59:59 UTC is 23:59:59 in Beijing; 16:00 UTC is Saturday there.
    late_friday = datetime(2026, 10, 16, 15, 59, 59, tzinfo=UTC)
    saturday = datetime(2026, 10, 16, 16, 0, tzinfo=UTC)
    monday_7 = datetime(2026, 10, 18, 23, 0, tzinfo=UTC)  # Monday 07:00 in Beijing
    assert reminder(late_friday) == monday_7
    assert reminder(saturday) == monday_7
    assert reminder(saturday).tzinfo is UTC  # answered in the zone it was asked in
    # 22:59 UTC is 06:59 in Beijing: one minute of quiet left.
    assert reminder(datetime(2026, 10, 13, 22, 59, tzinfo=UTC)) == datetime(
        2026, 10, 13, 23, 0, tzinfo=UTC
    )


def test_the_same_instant_in_any_zone_gets_the_same_answer() -> None:
    """Asia/Shanghai has had no daylight saving since 1991; a zone that has one (New York's
    clocks jump on Sunday 8 March 2026) changes nothing either: the window is Beijing's."""
    instant = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT, 15:30 Sunday in Beijing
    expected = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # Monday 9 March 07:00 in Beijing
    for zone in ("Asia/Shanghai", "America/New_York", "UTC"):
        local = instant.astimezone(ZoneInfo(zone))
        answer = reminder(local)
        assert answer == expected
        assert answer.tzinfo == local.tzinfo
    assert reminder(instant.astimezone(ZoneInfo("Asia/Shanghai"))).astimezone(BEIJING) == bj(
        3, 9, 7
    )


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        release_at(datetime(2026, 10, 13, 23), K.REMINDER, Role.HANDLER)


# ------------------------------------------------------------------------------ windows


def test_a_persons_own_window() -> None:
    owl = QuietWindow.parse("01:00-09:30")  # does not span midnight
    assert str(owl) == "01:00-09:30"
    late = bj(10, 13, 23, 30)
    assert release_at(late, K.REMINDER, Role.HANDLER, owl, CAL_2026) is late
    assert release_at(bj(10, 14, 2), K.REMINDER, Role.HANDLER, owl, CAL_2026) == bj(10, 14, 9, 30)
    # Saturday 02:00: Monday, from its first free moment (midnight is outside this window).
    assert release_at(bj(10, 17, 2), K.REMINDER, Role.HANDLER, owl, CAL_2026) == bj(10, 19, 0)
    never_quiet = QuietWindow.parse("08:00-08:00")
    night = bj(10, 14, 3)
    assert release_at(night, K.REMINDER, Role.HANDLER, never_quiet, CAL_2026) is night
    assert release_at(night, K.REMINDER, Role.HANDLER, None, CAL_2026) is night


def test_the_window_text_is_checked() -> None:
    assert QuietWindow.parse(" 22:00 - 07:00 ") == DEFAULT_QUIET_WINDOW
    assert DEFAULT_QUIET_WINDOW.start == time(22) and DEFAULT_QUIET_WINDOW.end == time(7)
    for bad in ("22:00", "late-early", "25:00-07:00"):
        with pytest.raises(ValueError):
            QuietWindow.parse(bad)
    with pytest.raises(ValidationError):
        QuietWindow(start="noon")


def test_quiet_hours_apply_on_the_production_clock_only() -> None:
    assert quiet_hours_apply(86400)
    assert not quiet_hours_apply(1)
