"""Quiet hours (免打扰时段) and urgency (紧急程度): when a notice pushed to someone's email, phone
or group chat may go out (issue 11, item 4). Pure: ``now`` and the calendar are arguments.

The inbox (站内待办) always shows a notice at once; only the pushed channels wait. Each person
has a quiet window on Beijing wall-clock time, 22:00–07:00 unless the directory says otherwise.
Three urgencies:

- at once (立即): a 督办单 or 逾期通报 to a county leader (联系点县领导, 县主要领导, 包案领导) —
  escalation reaches the county's leaders whatever the hour;
- the morning (次日早晨): other 督办单 and 逾期通报, and the petitioner's SMS (告知) — a
  citizen's phone is not woken at night, a weekend is no reason to wait;
- the morning of a working day (工作日早晨): 催办, 交办 and the upload refusal ask for office
  work; they wait out the night and the days off of the policy's Chinese calendar (法定节假日,
  weekends, but not the swapped working weekends, 调休上班日).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.calendar import WEEKENDS_ONLY, WorkdayCalendar
from domain.policy import BEIJING, PRODUCTION_DAY_SECONDS
from domain.vocabulary import NoticeKind, Role


class Urgency(StrEnum):
    """How long a pushed notice may wait (紧急程度)."""

    AT_ONCE = "at_once"  # 立即发送
    MORNING = "morning"  # 免打扰时段后
    WORKING_MORNING = "working_morning"  # 免打扰时段后的工作日


class QuietWindow(BaseModel):
    """A person's quiet hours, Beijing wall-clock time, from ``start`` up to (not including)
    ``end``. A window whose start is after its end spans midnight (22:00–07:00); a window whose
    start equals its end is empty (no quiet hours)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(22, 0)
    end: time = time(7, 0)

    @classmethod
    def parse(cls, text: str) -> QuietWindow:
        """``"22:00-07:00"``, as the directory keeps it."""
        first, sep, second = text.strip().partition("-")
        if not sep:
            raise ValueError(f"quiet hours {text!r}: expected HH:MM-HH:MM, e.g. 22:00-07:00")
        return cls(start=time.fromisoformat(first.strip()), end=time.fromisoformat(second.strip()))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def spans_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.spans_midnight:
            return moment >= self.start or moment < self.end
        return self.start <= moment < self.end

    def first_free(self, day: date) -> datetime:
        """The first Beijing moment of ``day`` outside the window: its morning."""
        midnight = datetime.combine(day, time(0), BEIJING)
        if self.contains(time(0)):
            return datetime.combine(day, self.end, BEIJING)
        return midnight


DEFAULT_QUIET_WINDOW = QuietWindow()

# Leaders of the county (县领导): an escalation to them is not held back by the clock.
COUNTY_LEADER_ROLES = frozenset(
    {Role.COUNTY_CONTACT_LEADER, Role.COUNTY_PRINCIPAL_LEADER, Role.CASE_OWNER}
)
ESCALATIONS = frozenset({NoticeKind.SUPERVISION, NoticeKind.OVERDUE})
OFFICE_WORK = frozenset({NoticeKind.REMINDER, NoticeKind.ASSIGNMENT, NoticeKind.UPLOAD_REFUSED})


def urgency(kind: NoticeKind, recipient_role: Role) -> Urgency:
    if kind in ESCALATIONS and recipient_role in COUNTY_LEADER_ROLES:
        return Urgency.AT_ONCE
    if kind in OFFICE_WORK:
        return Urgency.WORKING_MORNING
    return Urgency.MORNING


def quiet_hours_apply(day_seconds: float) -> bool:
    """Only on a production clock: on a compressed demo clock (a policy day of one second) a
    week passes in seconds, and waiting for the morning would stop the demo for hours."""
    return day_seconds == PRODUCTION_DAY_SECONDS


def release_at(
    now: datetime,
    kind: NoticeKind,
    recipient_role: Role,
    quiet_window: QuietWindow | None = DEFAULT_QUIET_WINDOW,
    calendar: WorkdayCalendar | None = None,
) -> datetime:
    """When a notice of ``kind`` to someone in ``recipient_role`` may be pushed: ``now`` itself
    (the same object) when it may go at once, else the end of the quiet hours, or the morning
    of the next working day for office work. ``quiet_window`` None: the person has no quiet
    hours (or they do not apply, :func:`quiet_hours_apply`). ``calendar`` None: weekends only.
    The answer is in ``now``'s time zone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    level = urgency(kind, recipient_role)
    if level is Urgency.AT_ONCE or quiet_window is None:
        return now
    local = now.astimezone(BEIJING)
    release = local
    if quiet_window.contains(local.time()):
        # Quiet until the window's end: today's, or tomorrow's when the window began tonight.
        end_day = local.date()
        if quiet_window.spans_midnight and local.time() >= quiet_window.start:
            end_day += timedelta(days=1)
        release = datetime.combine(end_day, quiet_window.end, BEIJING)
    if level is Urgency.WORKING_MORNING:
        days = calendar or WEEKENDS_ONLY
        while not days.is_workday(release.date()):
            release = quiet_window.first_free(release.date() + timedelta(days=1))
    if release == local:
        return now
    return release.astimezone(now.tzinfo)
