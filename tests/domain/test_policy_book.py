"""Statutory limits, extensions, the reasons a plan gives, and the county's policy book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.calendar import DayCount, china_calendar
from domain.plan import PlannedStep, StepKind, handling_deadline, handling_plan
from domain.policy import ChainLevel, EscalationPolicy, PolicyBook, PolicyOverride, load_policy_book
from domain.vocabulary import Category, Role, Track

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday, 09:00 in Beijing
APPROVAL = "单位主要领导郭德明于2026年3月20日"


def by_key(plan: list[PlannedStep]) -> dict[str, PlannedStep]:
    return {s.key: s for s in plan}


# ------------------------------------------------------------------ statutory limits


def test_statutory_defaults() -> None:
    policy = EscalationPolicy()
    assert policy.day_count == DayCount.CALENDAR
    assert (policy.acceptance_notice_days, policy.statutory_handling_days) == (15, 60)
    assert policy.max_extension_days == 30
    assert (policy.assign_days, policy.accept_days, policy.revisit_days) == (1, 1, 7)
    assert (policy.review_request_days, policy.review_days) == (30, 30)


@pytest.mark.parametrize(
    "bad",
    [
        {"general_deadline_days": 61},
        {"simple_deadline_days": 20, "statutory_handling_days": 15},
        {"day_count": "lunar"},
        {"max_extension_days": -1},
        {"acceptance_notice_days": 0},
    ],
)
def test_policies_beyond_the_statute_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EscalationPolicy.model_validate(bad)


def test_a_policy_survives_a_json_round_trip() -> None:
    policy = EscalationPolicy(day_count=DayCount.WORKING, version="x")
    assert EscalationPolicy.model_validate(policy.model_dump(mode="json")) == policy


# ------------------------------------------------------------------ reasons


def test_every_step_explains_itself_in_calendar_days() -> None:
    plan = handling_plan(EscalationPolicy(), Track.GENERAL, ACCEPTED)
    assert all(s.reason for s in plan)
    steps = by_key(plan)
    assert steps["overdue"].reason == "受理后30日（一般信访事项一个月内办结，“四个一”）"
    assert "三周工作法" in steps["escalation-L2"].reason
    assert "第一周由信访案件责任人负责办理" in steps["escalation-L2"].reason
    assert steps["reminder-before-overdue"].reason.startswith("受理后29日（办理期限届满前1日")
    simple = by_key(handling_plan(EscalationPolicy(), Track.SIMPLE, ACCEPTED))
    assert simple["overdue"].reason == "受理后7日（简易信访事项一周内办结，“四个一”）"


def test_reasons_name_the_local_rule_when_it_differs() -> None:
    policy = EscalationPolicy(simple_deadline_days=5, version="2026.1+category:wage_dispute")
    overdue = by_key(handling_plan(policy, Track.SIMPLE, ACCEPTED))["overdue"]
    assert (
        overdue.reason == "受理后5日（简易信访事项5日内办结，按政策2026.1+category:wage_dispute）"
    )
    custom = EscalationPolicy(
        chain=(
            ChainLevel(level=1, role=Role.HANDLER, title="责任人", days=3),
            ChainLevel(level=2, role=Role.UNIT_HEAD, title="主要领导", days=4),
        )
    )
    step = by_key(handling_plan(custom, Track.GENERAL, ACCEPTED))["escalation-L2"]
    assert "逐级督办" in step.reason and "三周工作法" not in step.reason


def test_working_day_reasons_mention_holidays_and_swapped_days() -> None:
    accepted = datetime(2026, 9, 24, 1, 0, tzinfo=UTC)
    policy = EscalationPolicy(day_count=DayCount.WORKING)
    plan = handling_plan(policy, Track.GENERAL, accepted, calendar=china_calendar([2026]))
    for step in plan:
        assert "个工作日" in step.reason
        assert "按工作日计算" in step.reason
    assert "已扣除中秋节、国庆节假期并计入调休上班日" in plan[-1].reason


# ------------------------------------------------------------------ extensions


def test_extension_moves_the_deadline_and_the_whole_chain() -> None:
    policy = EscalationPolicy()
    base = by_key(handling_plan(policy, Track.GENERAL, ACCEPTED))
    ext = by_key(
        handling_plan(policy, Track.GENERAL, ACCEPTED, extension_days=20, extension_note=APPROVAL)
    )
    assert ext["overdue-ext20"].at == base["overdue"].at + timedelta(days=20)
    assert ext["overdue-ext20"].offset_days == 50
    for level in (2, 3, 4):
        moved = ext[f"escalation-L{level}-ext20"]
        assert moved.at == base[f"escalation-L{level}"].at + timedelta(days=20)
        assert ext[f"reminder-before-escalation-L{level}-ext20"].at == moved.at - timedelta(days=1)
    assert ext["overdue-ext20"].reason == (
        "受理后50日（一般信访事项一个月内办结，“四个一”），"
        f"另经{APPROVAL}批准延期20日（信访条例第三十三条）"
    )
    assert handling_deadline(policy, Track.GENERAL, ACCEPTED, extension_days=20) == (
        ext["overdue-ext20"].at
    )


def test_extension_moves_only_the_chain_still_ahead() -> None:
    policy = EscalationPolicy()
    approved = ACCEPTED + timedelta(days=10)  # level 2 is already accountable
    plan = handling_plan(policy, Track.GENERAL, ACCEPTED, extension_days=20, extended_at=approved)
    steps = by_key(plan)
    # What already happened keeps its moment and its key (its notice was sent).
    assert steps["escalation-L2"].at == ACCEPTED + timedelta(days=7)
    assert steps["reminder-before-escalation-L2"].offset_days == 6
    assert "延期" not in steps["escalation-L2"].reason
    # What lies ahead moves by 20 days, under new keys so its notices are not deduplicated away.
    assert steps["escalation-L3-ext20"].offset_days == 34
    assert steps["escalation-L4-ext20"].offset_days == 41
    assert steps["overdue-ext20"].offset_days == 50
    assert steps["overdue-ext20"].level == 4
    assert "另经批准延期20日（信访条例第三十三条）" in steps["overdue-ext20"].reason
    assert [s.at for s in plan] == sorted(s.at for s in plan)
    keys = [s.key for s in plan]
    assert len(keys) == len(set(keys))


def test_simple_track_extension_also_moves_the_chain_after_the_deadline() -> None:
    plan = handling_plan(
        EscalationPolicy(),
        Track.SIMPLE,
        ACCEPTED,
        extension_days=3,
        extended_at=ACCEPTED + timedelta(days=5),
    )
    assert [s.offset_days for s in plan if s.kind == StepKind.ESCALATION] == [10, 17, 24]
    assert [s.offset_days for s in plan if s.kind == StepKind.OVERDUE] == [10]
    # the shifted escalation and the shifted deadline coincide: one reminder for both
    assert [s.offset_days for s in plan if s.kind == StepKind.REMINDER] == [9, 16, 23]


def test_extension_in_working_days() -> None:
    accepted = datetime(2026, 9, 24, 1, 0, tzinfo=UTC)
    policy = EscalationPolicy(day_count=DayCount.WORKING, simple_deadline_days=10)
    cal = china_calendar([2026])
    plan = by_key(handling_plan(policy, Track.SIMPLE, accepted, calendar=cal, extension_days=5))
    overdue = plan["overdue-ext5"]
    # 15 working days after 24 September: the 10th is 15 October, then 16, 19, 20, 21, 22.
    assert overdue.at == datetime(2026, 10, 22, 1, 0, tzinfo=UTC)
    assert "批准延期5个工作日" in overdue.reason


@pytest.mark.parametrize(("days", "note"), [(31, None), (-1, None), (0, APPROVAL)])
def test_invalid_extensions_are_refused(days: int, note: str | None) -> None:
    with pytest.raises(ValueError):
        handling_plan(
            EscalationPolicy(), Track.GENERAL, ACCEPTED, extension_days=days, extension_note=note
        )


# ------------------------------------------------------------------ the policy book


def book() -> PolicyBook:
    return PolicyBook(
        version="2026.1",
        categories={
            "wage_dispute": PolicyOverride(simple_deadline_days=5, reminder_lead_days=0.5),
            "environment": PolicyOverride(general_deadline_days=20),
        },
        units={
            "renshe": PolicyOverride(day_count=DayCount.WORKING, simple_deadline_days=10),
            "xihe": PolicyOverride(reminder_lead_days=2),
        },
    )


def test_default_when_nothing_overrides() -> None:
    policy = book().policy_for("dongguan", "other", 86400)
    assert policy == EscalationPolicy(version="2026.1")


def test_category_beats_default() -> None:
    policy = book().policy_for("dongguan", Category.WAGE_DISPUTE, 86400)
    assert policy.version == "2026.1+category:wage_dispute"
    assert policy.simple_deadline_days == 5
    assert policy.reminder_lead_days == 0.5
    assert policy.general_deadline_days == 30


def test_unit_beats_category() -> None:
    policy = book().policy_for("renshe", "wage_dispute", 1)
    assert policy.version == "2026.1+category:wage_dispute+unit:renshe"
    assert policy.simple_deadline_days == 10  # the unit's, not the category's 5
    assert policy.reminder_lead_days == 0.5  # the category's, the unit leaves it alone
    assert policy.day_count == DayCount.WORKING
    assert policy.day_seconds == 1
    only_unit = book().policy_for("xihe", "environment", 86400)
    assert only_unit.version == "2026.1+category:environment+unit:xihe"
    assert (only_unit.reminder_lead_days, only_unit.general_deadline_days) == (2, 20)


def test_override_fields_mirror_the_policy() -> None:
    assert set(PolicyOverride.model_fields) == set(EscalationPolicy.model_fields) - {
        "version",
        "day_seconds",
    }


@pytest.mark.parametrize(
    "bad",
    [
        # a field the policy does not have
        {"version": "1", "units": {"renshe": {"deadline": 5}}},
        # the deployment's clock is not the book's business
        {"version": "1", "units": {"renshe": {"day_seconds": 1}}},
        {"version": "1", "categories": {"wage_dispute": {"simple_deadline_days": -1}}},
        # beyond the statute
        {"version": "1", "units": {"renshe": {"general_deadline_days": 90}}},
        # a category that does not exist
        {"version": "1", "categories": {"wages": {"simple_deadline_days": 5}}},
        # each override is fine alone, but together the reminder outlasts the chain level
        {
            "version": "1",
            "categories": {"wage_dispute": {"reminder_lead_days": 3}},
            "units": {
                "renshe": {"chain": [{"level": 1, "role": "handler", "title": "责任人", "days": 2}]}
            },
        },
        {"version": ""},
    ],
)
def test_invalid_books_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PolicyBook.model_validate(bad)


def test_the_repository_policy_yaml_loads_and_validates() -> None:
    loaded = load_policy_book((ROOT / "policy.yaml").read_text(encoding="utf-8"))
    assert loaded.version == "2026.1"
    # the default spelled out in the file is the built-in default
    assert loaded.default == EscalationPolicy()
    general = loaded.policy_for("dongguan", "other", 86400)
    assert general == EscalationPolicy(version="2026.1")
    wages = loaded.policy_for("dongguan", "wage_dispute", 86400)
    assert (wages.version, wages.simple_deadline_days) == ("2026.1+category:wage_dispute", 5)
    renshe = loaded.policy_for("renshe", "wage_dispute", 86400)
    assert renshe.version == "2026.1+category:wage_dispute+unit:renshe"
    assert renshe.day_count == DayCount.WORKING
    assert renshe.simple_deadline_days == 5


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "version: '1'\nunits: {renshe: {x: 1}}\n"])
def test_bad_yaml_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        load_policy_book(text)
