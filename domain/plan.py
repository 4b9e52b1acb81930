"""The handling plan (办理计划): the pure arithmetic that turns an escalation policy into a
petition's reminders (催办), escalations (督办) and overdue moment (逾期), each with its reason.

Offsets are policy days from acceptance; a :class:`~domain.calendar.WorkdayCalendar` makes them
working days (public holidays and 调休 included). Nothing here reads a clock: the moment of
acceptance and the calendar are arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.calendar import DayCount, WorkdayCalendar, add_working_days
from domain.policy import (
    BEIJING,
    DEFAULT_CHAIN,
    PRODUCTION_DAY_SECONDS,
    ChainLevel,
    EscalationPolicy,
)
from domain.vocabulary import Track


class StepKind(StrEnum):
    REMINDER = "reminder"  # 催办, a lead time before a milestone
    ESCALATION = "escalation"  # 督办, the chain climbs one level
    OVERDUE = "overdue"  # 逾期, the track deadline has passed


class PlannedStep(BaseModel):
    """One moment of the handling plan. ``key`` is stable per petition: notices are
    deduplicated on it, so a retried step never sends a second slip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    offset_days: float
    kind: StepKind
    level: int  # the level accountable *after* this step (for reminders: the current level)
    key: str
    description: str
    # Why this moment, in zh-CN: the count, the rule behind it and how the days were counted.
    # Defaulted only so that steps serialised before the field existed still load.
    reason: str = ""


# --------------------------------------------------------------------------- the clock


@dataclass(frozen=True)
class _Clock:
    """Turns policy-day offsets from acceptance into moments, and explains how it counted."""

    policy: EscalationPolicy
    accepted_at: datetime
    calendar: WorkdayCalendar | None  # set only when working days are really counted

    @classmethod
    def of(
        cls, policy: EscalationPolicy, accepted_at: datetime, calendar: WorkdayCalendar | None
    ) -> _Clock:
        working = (
            policy.day_count == DayCount.WORKING
            and policy.day_seconds == PRODUCTION_DAY_SECONDS
            and calendar is not None
        )
        return cls(policy, accepted_at, calendar if working else None)

    @property
    def unit(self) -> str:
        return "个工作日" if self.calendar is not None else "日"

    def days(self, n: float) -> str:
        return f"{n:g}{self.unit}"

    def count(self, offset: float) -> str:
        return f"受理后{self.days(offset)}"

    def _local_acceptance(self) -> datetime:
        at = self.accepted_at
        if at.tzinfo is None:  # naive moments are taken as UTC, like the rest of the system
            at = at.replace(tzinfo=UTC)
        return at.astimezone(BEIJING)

    def _working_date(self, offset: float) -> date:
        assert self.calendar is not None
        return add_working_days(self._local_acceptance().date(), math.floor(offset), self.calendar)

    def at(self, offset: float) -> datetime:
        if self.calendar is None:
            return self.accepted_at + self.policy.duration(offset)
        # The whole working days land on a Beijing date, at acceptance's time of day; a
        # fraction of a day (a half-day reminder lead, say) is added as hours.
        local = self._local_acceptance()
        whole = math.floor(offset)
        moment = datetime.combine(self._working_date(offset), local.timetz()) + timedelta(
            days=offset - whole
        )
        if self.accepted_at.tzinfo is None:
            return moment.astimezone(UTC).replace(tzinfo=None)
        return moment.astimezone(self.accepted_at.tzinfo)

    def note(self, offset: float) -> str | None:
        """How the days up to ``offset`` were counted, when that is not plain calendar days."""
        policy = self.policy
        if self.calendar is None:
            if policy.day_seconds != PRODUCTION_DAY_SECONDS:
                return f"演示时钟：每日{policy.day_seconds:g}秒，按自然日计算"
            if policy.day_count == DayCount.WORKING:
                return "未提供节假日日历，按自然日计算"
            return None
        cal = self.calendar
        first = self._local_acceptance().date()
        last = self._working_date(offset)
        span = [first + timedelta(days=i) for i in range(1, (last - first).days + 1)]
        names: list[str] = []
        unnamed = False
        for d in span:
            if d in cal.holidays:
                name = cal.name_of(d)
                if name is None:
                    unnamed = True
                elif name not in names:
                    names.append(name)
        if names:
            text = f"按工作日计算，已扣除{'、'.join(names)}假期"
        elif unnamed:
            text = "按工作日计算，已扣除法定节假日"
        else:
            text = "按工作日计算，已扣除周末"
        if any(d in cal.extra_workdays for d in span):
            text += "并计入调休上班日"
        missing = cal.uncovered_years(first, last)
        if missing:
            years = "、".join(str(y) for y in missing)
            text += f"；{years}年节假日数据缺失，仅按周末计算"
        return text

    def reason(self, offset: float, rule: str, extension: str = "") -> str:
        note = self.note(offset)
        inner = f"{rule}；{note}" if note else rule
        return f"{self.count(offset)}（{inner}）{extension}"


def window_end(
    policy: EscalationPolicy,
    start: datetime,
    days: float,
    calendar: WorkdayCalendar | None = None,
) -> datetime:
    """The end of a window of ``days`` policy days from ``start`` (交办、受理、回访、申请复查),
    counted as the handling plan counts: working days when the policy counts them on a
    production clock and a calendar is given (a one-day window opened on a Friday, a Saturday
    or before National Day ends on the next working day, at the same time of day)."""
    return _Clock.of(policy, start, calendar).at(days)


def day_unit(policy: EscalationPolicy, calendar: WorkdayCalendar | None) -> str:
    """How such a window's days read: 日, or 个工作日 when working days are counted."""
    return _Clock.of(policy, datetime.min, calendar).unit


def _check_extension(
    policy: EscalationPolicy, extension_days: int, extension_note: str | None
) -> None:
    if extension_days < 0:
        raise ValueError(f"extension_days must not be negative, got {extension_days}")
    if extension_days > policy.max_extension_days:
        raise ValueError(
            f"an extension of {extension_days} days exceeds the maximum of "
            f"{policy.max_extension_days} (信访条例第三十三条)"
        )
    if extension_note is not None and extension_days == 0:
        raise ValueError("extension_note given without extension_days")


def _extension_text(clock: _Clock, extension_days: int, extension_note: str | None) -> str:
    who = extension_note or ""
    return f"，另经{who}批准延期{clock.days(extension_days)}（信访条例第三十三条）"


def _deadline_rule(policy: EscalationPolicy, track: Track, clock: _Clock) -> str:
    days = policy.deadline_days(track)
    working = clock.calendar is not None
    if not working:
        if track == Track.SIMPLE and days == 7:
            return "简易信访事项一周内办结，“四个一”"
        if track == Track.GENERAL and days == 30:
            return "一般信访事项一个月内办结，“四个一”"
        if days == policy.statutory_handling_days:
            return f"信访事项{days:g}日内办结，信访条例第三十三条"
    elif track == Track.SIMPLE and days == 10:
        return "简易信访事项10个工作日内办结，《信访事项简易办理办法》"
    name = "简易" if track == Track.SIMPLE else "一般"
    return f"{name}信访事项{clock.days(days)}内办结，按政策{policy.version}"


def _escalation_rule(policy: EscalationPolicy, prev: ChainLevel, nxt: ChainLevel) -> str:
    method = "三周工作法" if policy.chain == DEFAULT_CHAIN else "逐级督办"
    return (
        f"{method}：第{prev.level}级“{prev.title}”期满仍未办结，升级至第{nxt.level}级“{nxt.title}”"
    )


def handling_plan(
    policy: EscalationPolicy,
    track: Track,
    accepted_at: datetime,
    *,
    calendar: WorkdayCalendar | None = None,
    extension_days: int = 0,
    extension_note: str | None = None,
    extended_at: datetime | None = None,
) -> list[PlannedStep]:
    """Every reminder, escalation and the overdue moment of a petition accepted at ``accepted_at``.

    Milestones: the start of each chain level after the first, and the track deadline. The chain
    keeps climbing after the deadline (an overdue case still needs pushing). One reminder
    precedes each distinct milestone moment by ``reminder_lead_days``; when an escalation and the
    deadline fall together, one reminder covers both.

    Working days: when ``policy.day_count`` is WORKING, the clock is a production one
    (``day_seconds == 86400``) and a ``calendar`` is given, each offset is counted in working
    days from the acceptance date in Beijing time, and lands at acceptance's time of day.
    Otherwise offsets are calendar policy days.

    Extension (延期, 信访条例第三十三条): ``extension_days`` (in the policy's own days, at most
    ``max_extension_days``) moves the deadline and the chain still ahead: every escalation (and
    its reminder) planned after ``extended_at``, or all of them when ``extended_at`` is None
    (the extension counted from acceptance). Steps that move get a ``-ext{n}`` key suffix, so
    their notices are not swallowed by the deduplication of the ones already sent.
    ``extension_note`` names who approved it and when, e.g. "单位主要领导李明于2026年10月20日".
    """
    _check_extension(policy, extension_days, extension_note)
    clock = _Clock.of(policy, accepted_at, calendar)
    extension = _extension_text(clock, extension_days, extension_note) if extension_days else ""
    suffix = f"-ext{extension_days}"

    # (step, moved by the extension)
    milestones: list[tuple[PlannedStep, bool]] = []
    start = 0.0
    for step in policy.chain[:-1]:
        start += step.days
        nxt = policy.level(step.level + 1)
        moved = extension_days > 0 and (extended_at is None or clock.at(start) > extended_at)
        offset = start + extension_days if moved else start
        milestones.append(
            (
                PlannedStep(
                    at=clock.at(offset),
                    offset_days=offset,
                    kind=StepKind.ESCALATION,
                    level=nxt.level,
                    key=f"escalation-L{nxt.level}" + (suffix if moved else ""),
                    description=f"升级至第{nxt.level}级（{nxt.title}）",
                    reason=clock.reason(
                        offset, _escalation_rule(policy, step, nxt), extension if moved else ""
                    ),
                ),
                moved,
            )
        )
    escalations = [m for m, _ in milestones]
    deadline = policy.deadline_days(track) + extension_days
    milestones.append(
        (
            PlannedStep(
                at=clock.at(deadline),
                offset_days=deadline,
                kind=StepKind.OVERDUE,
                level=_level_after(escalations, deadline),
                key="overdue" + (suffix if extension_days else ""),
                description=f"办理期限届满（{clock.count(deadline)}），未办结即逾期",
                reason=clock.reason(deadline, _deadline_rule(policy, track, clock), extension),
            ),
            extension_days > 0,
        )
    )
    # Escalation before overdue at the same moment: the newly accountable leader is who the
    # overdue notice finds in charge.
    milestones.sort(key=lambda m: (m[0].offset_days, m[0].kind == StepKind.OVERDUE))

    lead = policy.reminder_lead_days
    reminders: list[PlannedStep] = []
    seen: set[float] = set()
    for m, moved in milestones:
        if m.offset_days in seen:
            continue
        seen.add(m.offset_days)
        at_days = max(m.offset_days - lead, 0.0)
        before = "办理期限届满" if m.kind == StepKind.OVERDUE else f"升级至第{m.level}级"
        reminders.append(
            PlannedStep(
                at=clock.at(at_days),
                offset_days=at_days,
                kind=StepKind.REMINDER,
                level=_level_after(escalations, at_days),
                key=f"reminder-before-{m.key}",
                description=f"{clock.days(lead)}后{m.description}",
                reason=clock.reason(
                    at_days,
                    f"{before}前{clock.days(lead)}发催办单，对快要到期的事项进行催办",
                    extension if moved else "",
                ),
            )
        )
    plan = [m for m, _ in milestones] + reminders
    plan.sort(key=lambda s: (s.offset_days, _order(s.kind)))
    return plan


def _order(kind: StepKind) -> int:
    return {StepKind.REMINDER: 0, StepKind.ESCALATION: 1, StepKind.OVERDUE: 2}[kind]


def _level_after(escalations: list[PlannedStep], offset_days: float) -> int:
    """The level accountable at ``offset_days``, given the escalations actually planned."""
    level = 1
    for step in escalations:
        if step.offset_days <= offset_days:
            level = max(level, step.level)
    return level


def level_at(policy: EscalationPolicy, offset_days: float) -> int:
    """The chain level accountable ``offset_days`` after acceptance (the last level stays)."""
    start = 0.0
    for step in policy.chain:
        start += step.days
        if offset_days < start:
            return step.level
    return policy.chain[-1].level


def handling_deadline(
    policy: EscalationPolicy,
    track: Track,
    accepted_at: datetime,
    *,
    calendar: WorkdayCalendar | None = None,
    extension_days: int = 0,
) -> datetime:
    """The moment the track deadline passes, counted as :func:`handling_plan` counts it."""
    _check_extension(policy, extension_days, None)
    clock = _Clock.of(policy, accepted_at, calendar)
    return clock.at(policy.deadline_days(track) + extension_days)
