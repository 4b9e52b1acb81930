"""A petition's history stays far below Temporal's limits over the longest case the county
sees (issue 9): so the workflow needs no ``continue_as_new``, and this test fails the day a
change makes the history grow with the square of the steps again.

The longest case: an owner (包案领导), an extension, the whole chain to 逾期 in each of the three
rounds (办理 → 复查 → 复核), every 催办 and 督办 on time, then 三级终结. Temporal warns at
10,240 events or 10 MB of history (its hard limits are 51,200 and 50 MB); the budget here is a
fifth of the warning, so a case could be several times longer than this one and still fit."""

from __future__ import annotations

import json

from temporalio.api.history.v1 import HistoryEvent

from domain.contracts import (
    FIND_ROLE_HOLDER,
    RECORD_CHAIN_STEP,
    ExtensionDecision,
    ExtensionRequest,
    OwnerRequest,
    RateRequest,
    ReviewRequest,
)
from domain.vocabulary import Closure, EventKind, Rating, Role
from tests.helpers.county import COUNTY_LEADER, DONGGUAN_HEAD, ON_BEHALF
from tests.helpers.workflows import DAY, Case, CaseFactory
from workflows.petition import PetitionWorkflow
from workflows.petition.workflow import CHAIN_STEP_ONE_ACTIVITY, PATCHES_THROUGH_V13

EVENT_BUDGET = 2_048  # a fifth of the 10,240 events at which Temporal warns
BYTE_BUDGET = 2 * 1024 * 1024  # a fifth of its 10 MB warning


async def _to_overdue_then_reply(case: Case, reply: str) -> None:
    await case.sleep(DAY * 31)  # every level of the round's chain, then 逾期
    await case.until(lambda s: s.overdue)
    await case.complete(reply)
    await case.update(
        PetitionWorkflow.rate,
        RateRequest(rating=Rating.DISSATISFIED, comment="不满意", **ON_BEHALF),
    )


async def test_the_longest_case_stays_far_below_the_history_limits(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory(phone="13900002222", category="demolition_compensation")
    await case.update(PetitionWorkflow.set_owner, OwnerRequest(owner=COUNTY_LEADER))
    await case.accept()
    await case.update(
        PetitionWorkflow.request_extension, ExtensionRequest(days=30, reason="需要委托鉴定")
    )
    await case.update(
        PetitionWorkflow.decide_extension, ExtensionDecision(approve=True, approver=DONGGUAN_HEAD)
    )
    await case.sleep(DAY * 30)  # the extension's 30 days on top of the round's
    await _to_overdue_then_reply(case, "经核查，补偿标准符合规定。")
    for reason, reply in (("对补偿标准不服", "复查意见：维持。"), ("申请复核", "复核意见：维持。")):
        await case.update(PetitionWorkflow.request_review, ReviewRequest(reason=reason))
        await _to_overdue_then_reply(case, reply)
    final = await case.until(lambda s: s.closure == Closure.TERMINATED)
    await case.handle.result()
    history = await case.handle.fetch_history()
    size = sum(event.ByteSize() for event in history.events)  # as the server counts it
    # The case went where it should: three rounds, each up the whole chain to 逾期.
    assert [e.kind for e in final.timeline].count(EventKind.OVERDUE) == 3
    assert len(history.events) <= EVENT_BUDGET, len(history.events)
    assert size <= BYTE_BUDGET, size
    print(f"longest case: {len(history.events)} events, {size / 1024:.0f} KiB of history")


async def test_a_new_petition_takes_every_patch_with_one_marker(
    case_factory: CaseFactory,
) -> None:
    """The patch ``patches-through-v13``: a petition started now records one patch marker for
    the 18 patches before it, not one each (each with the SDK's upsert of TemporalChangeVersion),
    and takes every one of their paths: here the chain's step written by a local activity
    (``chain-written-locally``). The one patch since has a marker of its own."""
    case = await case_factory()
    await case.accept()
    await case.sleep(DAY * 7)  # the first 催办
    await case.until(lambda s: EventKind.REMINDER in [e.kind for e in s.timeline])
    history = await case.handle.fetch_history()
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    patches = [
        json.loads(m.details["patch-data"].payloads[0].data)["id"]
        for m in markers
        if m.marker_name == "core_patch"
    ]
    assert patches == [PATCHES_THROUGH_V13, CHAIN_STEP_ONE_ACTIVITY]
    assert any(m.marker_name == "core_local_activity" for m in markers)


def _local_activities(events: list[HistoryEvent]) -> list[str]:
    """The local activities a history's markers record, by name, in order."""
    return [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        for e in events
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


async def test_a_chain_step_is_one_local_activity(case_factory: CaseFactory) -> None:
    """The patch ``chain-step-one-activity``: a chain step's local activity looks up who holds
    the post as it writes the step; before, a lookup came first, a marker of its own and an
    activation on every replay. The steps still name the holders, on their entries, on their
    slips and (an escalation) as the accountable person."""
    case = await case_factory()
    await case.accept()
    before = len((await case.handle.fetch_history()).events)
    await case.sleep(DAY * 7)  # the first 催办 (day 6), then the first 督办 (day 7)
    state = await case.until_climbed(2, Role.SUPERVISING_LEADER)
    events = list((await case.handle.fetch_history()).events)[before:]
    assert _local_activities(events) == [RECORD_CHAIN_STEP, RECORD_CHAIN_STEP]
    assert FIND_ROLE_HOLDER not in _local_activities(events)
    steps = [e for e in state.timeline if e.kind in (EventKind.REMINDER, EventKind.SUPERVISION)]
    assert [(e.kind, e.level, e.person_id) for e in steps] == [
        (EventKind.REMINDER, 1, "dongguan-h1"),
        (EventKind.SUPERVISION, 2, "dongguan-sup"),
    ]
    assert all(e.person_name for e in steps)
    assert state.accountable is not None and state.accountable.person_id == "dongguan-sup"
    assert [(kind, to) for kind, _, to in await case.notices() if kind != "petitioner"][1:] == [
        ("reminder", "dongguan-h1"),
        ("supervision", "dongguan-sup"),
    ]
