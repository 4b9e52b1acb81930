"""The intake and aftercare windows (交办、受理、回访、申请复查) in a unit's working days, the
review rounds' fixed limit (no extension in 复查/复核), and slips worded for the moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.access import Action
from domain.calendar import DayCount, china_calendar
from domain.contracts import ExtensionRequest, Person, PetitionState
from domain.lifecycle import refusal
from domain.notices import (
    EXPIRED_REMINDER,
    UNACCEPTED_SUPERVISION,
    accept_deadline,
    assign_deadline,
    assign_statutory_deadline,
    notice_text,
    review_request_deadline,
    revisit_deadline,
)
from domain.plan import window_end
from domain.policy import BEIJING, EscalationPolicy
from domain.vocabulary import Category, NoticeKind, Phase, Role, Stage, Track

CAL_2026 = china_calendar([2026])
WORKING = EscalationPolicy(day_count=DayCount.WORKING)
CALENDAR_DAYS = EscalationPolicy()
PID = "XF-2026-000001"
HEAD = Person(person_id="h", name="李明", title="镇长", role=Role.UNIT_HEAD, unit_id="dongguan")


def beijing(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("assigned", "due"),
    [
        # Friday afternoon: the one-day window ends on Monday, not on Saturday.
        (beijing(2026, 11, 27, 15, 30), beijing(2026, 11, 30, 15, 30)),
        # Saturday: counting starts on the next working day.
        (beijing(2026, 11, 28, 10, 0), beijing(2026, 11, 30, 10, 0)),
        # The eve of National Day: not within the holiday week (1–7 October) but on the 8th.
        (beijing(2026, 9, 30, 10, 0), beijing(2026, 10, 8, 10, 0)),
        # A working Saturday (调休上班日, 10 October) is a working day.
        (beijing(2026, 10, 9, 10, 0), beijing(2026, 10, 10, 10, 0)),
    ],
)
def test_a_one_day_accept_window_ends_on_a_working_day(assigned: datetime, due: datetime) -> None:
    deadline = accept_deadline(WORKING, assigned, CAL_2026)
    assert deadline.due_at == due
    assert CAL_2026.is_workday(deadline.due_at.astimezone(BEIJING).date())
    assert deadline.reason.startswith("交办后1个工作日内受理")


def test_every_window_a_unit_counts_in_working_days_skips_national_day() -> None:
    eve = beijing(2026, 9, 30, 10, 0)
    assert assign_deadline(WORKING, eve, CAL_2026).due_at == beijing(2026, 10, 8, 10, 0)
    # 回访 in 7 working days: 8, 9, 10 (调休), 12, 13, 14, 15 October.
    revisit = revisit_deadline(WORKING, eve, CAL_2026)
    assert revisit.due_at == beijing(2026, 10, 15, 10, 0)
    assert "7个工作日内回访" in revisit.reason
    review = review_request_deadline(WORKING, eve, Phase.REVIEW, CAL_2026)
    assert review.due_at > eve + timedelta(days=30)
    assert "30个工作日内请求复查" in review.reason


def test_calendar_days_and_demo_clocks_are_counted_as_before() -> None:
    friday = beijing(2026, 11, 27, 15, 30)
    # A unit counting calendar days, even with a calendar at hand.
    assert accept_deadline(CALENDAR_DAYS, friday, CAL_2026).due_at == friday + timedelta(days=1)
    assert accept_deadline(CALENDAR_DAYS, friday, CAL_2026).reason.startswith("交办后1日内受理")
    # Working days asked for, but no calendar (old workflows) or a compressed demo day.
    assert window_end(WORKING, friday, 1) == friday + timedelta(days=1)
    demo = WORKING.model_copy(update={"day_seconds": 1})
    assert window_end(demo, friday, 1, CAL_2026) == friday + timedelta(seconds=1)


def test_the_bureau_has_its_statutory_limit_to_assign() -> None:
    registered = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    limit = assign_statutory_deadline(CALENDAR_DAYS, registered)
    assert (limit.kind, limit.due_at) == ("assign_statutory", registered + timedelta(days=15))
    assert "15日内交办或转送" in limit.reason and "第二十一条" in limit.reason


def _state(phase: Phase) -> PetitionState:
    return PetitionState(
        id=PID,
        unit_id="county-review",
        track=Track.GENERAL,
        category=Category.OTHER,
        stage=Stage.HANDLING,
        phase=phase,
        registered_at=datetime(2026, 9, 1, tzinfo=UTC),
        policy_version="2026.1",
    )


@pytest.mark.parametrize("phase", [Phase.REVIEW, Phase.RE_REVIEW])
def test_no_extension_in_review(phase: Phase) -> None:
    answer = refusal(
        _state(phase),
        Action.REQUEST_EXTENSION,
        ExtensionRequest(days=10, reason="情况复杂"),
        datetime(2026, 10, 1, tzinfo=UTC),
        max_extension_days=30,
        review_days=30,
    )
    assert answer == (
        f"petition {PID} cannot be extended in {phase}: 复查/复核 is decided within 30 days, "
        "with no extension (信访条例第三十四、三十五条)"
    )


def _text(kind: NoticeKind, ask: str | None) -> str:
    note = "受理期限：交办后责任单位受理已届满"
    return notice_text(kind, PID, None, HEAD, note, ask=ask)


def test_a_slip_asks_what_the_moment_asks() -> None:
    assert "即将到期" in _text(NoticeKind.REMINDER, None)  # before a milestone, as today
    late = _text(NoticeKind.REMINDER, EXPIRED_REMINDER)
    assert "已超期" in late and "即将到期" not in late
    unaccepted = _text(NoticeKind.SUPERVISION, UNACCEPTED_SUPERVISION)
    assert "逾期未受理" in unaccepted and "未按期办结" not in unaccepted
    refused = _text(NoticeKind.UPLOAD_REFUSED, None)
    assert refused.startswith("【上传拒收通知】") and "催办单" not in refused
