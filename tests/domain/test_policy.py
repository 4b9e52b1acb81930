"""The policy arithmetic: pure, no Temporal, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.plan import PlannedStep, StepKind, handling_deadline, handling_plan, level_at
from domain.policy import ChainLevel, EscalationPolicy
from domain.vocabulary import Role, Track

ACCEPTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def offsets(plan: list[PlannedStep], kind: StepKind) -> list[float]:
    return [s.offset_days for s in plan if s.kind == kind]


def test_general_plan_climbs_weekly_and_is_overdue_at_thirty_days() -> None:
    plan = handling_plan(EscalationPolicy(), Track.GENERAL, ACCEPTED)
    assert offsets(plan, StepKind.ESCALATION) == [7, 14, 21]
    assert [s.level for s in plan if s.kind == StepKind.ESCALATION] == [2, 3, 4]
    assert offsets(plan, StepKind.OVERDUE) == [30]
    # One policy day before each step ends, to whoever is accountable then.
    assert offsets(plan, StepKind.REMINDER) == [6, 13, 20, 29]
    assert [s.level for s in plan if s.kind == StepKind.REMINDER] == [1, 2, 3, 4]
    assert [s.at for s in plan] == sorted(s.at for s in plan)
    assert plan[-1].kind == StepKind.OVERDUE
    assert plan[-1].at == ACCEPTED + timedelta(days=30)


def test_simple_plan_is_overdue_after_one_week_and_keeps_climbing() -> None:
    plan = handling_plan(EscalationPolicy(), Track.SIMPLE, ACCEPTED)
    assert offsets(plan, StepKind.OVERDUE) == [7]
    assert offsets(plan, StepKind.ESCALATION) == [7, 14, 21]
    # Escalation and deadline fall together at day 7: one reminder covers both.
    assert offsets(plan, StepKind.REMINDER) == [6, 13, 20]
    day7 = [s.kind for s in plan if s.offset_days == 7]
    assert day7 == [StepKind.ESCALATION, StepKind.OVERDUE]


def test_keys_are_unique_so_notices_deduplicate_per_step() -> None:
    for track in Track:
        keys = [s.key for s in handling_plan(EscalationPolicy(), track, ACCEPTED)]
        assert len(keys) == len(set(keys))


def test_policy_day_length_compresses_the_whole_chain() -> None:
    policy = EscalationPolicy(day_seconds=1)
    plan = handling_plan(policy, Track.GENERAL, ACCEPTED)
    assert plan[-1].at - ACCEPTED == timedelta(seconds=30)
    assert handling_deadline(policy, Track.SIMPLE, ACCEPTED) == ACCEPTED + timedelta(seconds=7)


@pytest.mark.parametrize(
    ("offset", "level"), [(0, 1), (6.99, 1), (7, 2), (13.5, 2), (14, 3), (21, 4), (45, 4)]
)
def test_level_at(offset: float, level: int) -> None:
    assert level_at(EscalationPolicy(), offset) == level


def test_custom_chain_of_three_levels() -> None:
    policy = EscalationPolicy(
        chain=(
            ChainLevel(level=1, role=Role.HANDLER, title="责任人", days=3),
            ChainLevel(level=2, role=Role.UNIT_HEAD, title="主要领导", days=4),
            ChainLevel(level=3, role=Role.COUNTY_CONTACT_LEADER, title="县领导", days=5),
        ),
        general_deadline_days=10,
    )
    plan = handling_plan(policy, Track.GENERAL, ACCEPTED)
    assert offsets(plan, StepKind.ESCALATION) == [3, 7]
    assert offsets(plan, StepKind.REMINDER) == [2, 6, 9]


@pytest.mark.parametrize(
    "bad",
    [
        {"chain": ()},
        {"reminder_lead_days": 7},
        {"day_seconds": 0},
        {"general_deadline_days": -1},
        {"chain": (ChainLevel(level=2, role=Role.HANDLER, title="x", days=7),)},
        {"unknown_field": 1},
    ],
)
def test_invalid_policies_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate(bad)
