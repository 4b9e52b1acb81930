"""The escalation policy (三周工作法 plus the county contact leader) as validated data, and the
pure arithmetic that turns it into a petition's handling plan.

Durations are in *policy days*. A policy day is ``day_seconds`` long: 86,400 in production,
one second in a demo, so the same four-week chain can be watched in half a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.vocabulary import Role, Track


class ChainLevel(BaseModel):
    """One week of the chain: who is accountable and for how many policy days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1)
    role: Role
    title: str
    days: float = Field(gt=0)


DEFAULT_CHAIN: tuple[ChainLevel, ...] = (
    ChainLevel(level=1, role=Role.HANDLER, title="第一周由信访案件责任人负责办理", days=7),
    ChainLevel(level=2, role=Role.SUPERVISING_LEADER, title="第二周由办案分管领导落实办理", days=7),
    ChainLevel(level=3, role=Role.UNIT_HEAD, title="第三周由单位主要领导加强办理", days=7),
    ChainLevel(
        level=4, role=Role.COUNTY_CONTACT_LEADER, title="第四周由联系点县领导推动办理", days=7
    ),
)


class EscalationPolicy(BaseModel):
    """Policy as data. Each petition carries the copy it started with, so editing the policy
    never changes the clock of a petition already running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "2026.1"
    chain: tuple[ChainLevel, ...] = DEFAULT_CHAIN
    reminder_lead_days: float = Field(default=1, ge=0)
    # 简易 within a week, 一般 within a month ("四个一", seed 004), counted from acceptance.
    simple_deadline_days: float = Field(default=7, gt=0)
    general_deadline_days: float = Field(default=30, gt=0)
    day_seconds: float = Field(default=86400, gt=0)

    @model_validator(mode="after")
    def _chain_is_well_formed(self) -> Self:
        if not self.chain:
            raise ValueError("the chain needs at least one level")
        levels = [step.level for step in self.chain]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"chain levels must be 1, 2, 3, … in order, got {levels}")
        shortest = min(step.days for step in self.chain)
        if self.reminder_lead_days >= shortest:
            raise ValueError(
                f"reminder_lead_days ({self.reminder_lead_days}) must be shorter than the "
                f"shortest chain level ({shortest} days), or reminders would precede the level"
            )
        return self

    def deadline_days(self, track: Track) -> float:
        return self.simple_deadline_days if track == Track.SIMPLE else self.general_deadline_days

    def duration(self, days: float) -> timedelta:
        return timedelta(seconds=days * self.day_seconds)

    def level(self, level: int) -> ChainLevel:
        return self.chain[level - 1]


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


def handling_plan(
    policy: EscalationPolicy, track: Track, accepted_at: datetime
) -> list[PlannedStep]:
    """Every reminder, escalation and the overdue moment of a petition accepted at ``accepted_at``.

    Milestones: the start of each chain level after the first, and the track deadline. The chain
    keeps climbing after the deadline (an overdue case still needs pushing). One reminder
    precedes each distinct milestone moment by ``reminder_lead_days``; when an escalation and the
    deadline fall together, one reminder covers both.
    """
    milestones: list[PlannedStep] = []
    start = 0.0
    for step in policy.chain[:-1]:
        start += step.days
        nxt = policy.level(step.level + 1)
        milestones.append(
            PlannedStep(
                at=accepted_at + policy.duration(start),
                offset_days=start,
                kind=StepKind.ESCALATION,
                level=nxt.level,
                key=f"escalation-L{nxt.level}",
                description=f"升级至第{nxt.level}级（{nxt.title}）",
            )
        )
    deadline = policy.deadline_days(track)
    milestones.append(
        PlannedStep(
            at=accepted_at + policy.duration(deadline),
            offset_days=deadline,
            kind=StepKind.OVERDUE,
            level=level_at(policy, deadline),
            key="overdue",
            description=f"办理期限届满（受理后{deadline:g}日），未办结即逾期",
        )
    )
    # Escalation before overdue at the same moment: the newly accountable leader is who the
    # overdue notice finds in charge.
    milestones.sort(key=lambda m: (m.offset_days, m.kind == StepKind.OVERDUE))

    reminders: list[PlannedStep] = []
    seen: set[float] = set()
    for m in milestones:
        if m.offset_days in seen:
            continue
        seen.add(m.offset_days)
        at_days = max(m.offset_days - policy.reminder_lead_days, 0.0)
        reminders.append(
            PlannedStep(
                at=accepted_at + policy.duration(at_days),
                offset_days=at_days,
                kind=StepKind.REMINDER,
                level=level_at(policy, at_days),
                key=f"reminder-before-{m.key}",
                description=f"{policy.reminder_lead_days:g}日后{m.description}",
            )
        )
    plan = milestones + reminders
    plan.sort(key=lambda s: (s.offset_days, _order(s.kind)))
    return plan


def _order(kind: StepKind) -> int:
    return {StepKind.REMINDER: 0, StepKind.ESCALATION: 1, StepKind.OVERDUE: 2}[kind]


def level_at(policy: EscalationPolicy, offset_days: float) -> int:
    """The chain level accountable ``offset_days`` after acceptance (the last level stays)."""
    start = 0.0
    for step in policy.chain:
        start += step.days
        if offset_days < start:
            return step.level
    return policy.chain[-1].level


def handling_deadline(policy: EscalationPolicy, track: Track, accepted_at: datetime) -> datetime:
    return accepted_at + policy.duration(policy.deadline_days(track))
