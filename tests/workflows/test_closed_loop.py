"""The closed loop (闭环) around the chain, on the time-skipping server: intake, decline,
transfer, extension, withdrawal, leader ownership, review and re-review."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError

from domain.contracts import (
    AssignRequest,
    DeclineRequest,
    ExtensionDecision,
    ExtensionRequest,
    OwnerRequest,
    PetitionState,
    RateRequest,
    ReviewRequest,
    TransferRequest,
    WithdrawRequest,
)
from domain.vocabulary import Closure, EventKind, Phase, Rating, Stage
from store import petitions
from tests.helpers.county import COUNTY_LEADER, DONGGUAN_HEAD, ON_BEHALF
from tests.helpers.workflows import DAY, Case, CaseFactory
from workflows.petition import PetitionWorkflow

HEAD = DONGGUAN_HEAD


def deadline(state: PetitionState, kind: str = "overdue") -> object:
    return next(d for d in state.deadlines if d.kind == kind)


async def test_registered_at_the_bureau_reminds_dispatchers_then_is_assigned(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory(unit_id=None)
    state = await case.until(lambda s: bool(s.deadlines))
    assert (state.stage, state.unit_id) == (Stage.REGISTERED, None)
    assert [d.kind for d in state.deadlines] == ["assign"]
    await case.sleep(DAY * 1.1)  # the bureau has not assigned it within a day
    await case.until(lambda s: s.timeline[-1].kind == EventKind.REMINDER)
    assert ("reminder", "reminder-assign", "bureau-01") in await case.notices()

    assigned = await case.update(PetitionWorkflow.assign, AssignRequest(unit_id="xihe"))
    assert (assigned.stage, assigned.unit_id) == (Stage.ASSIGNED, "xihe")
    assert ("assignment", "assignment", "xihe-h1") in await case.notices()
    assert "transfer" in await case.refusal(
        PetitionWorkflow.assign, AssignRequest(unit_id="dongguan")
    )
    accepted = await case.accept()
    assert accepted.accountable is not None and accepted.accountable.person_id == "xihe-h1"


async def test_unit_reminded_when_it_does_not_accept_within_a_day(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory()
    await case.sleep(DAY * 0.9)
    assert not [n for n in await case.notices() if n[0] == "reminder"]
    await case.sleep(DAY * 0.2)
    await case.until(lambda s: s.timeline[-1].kind == EventKind.REMINDER)
    assert ("reminder", "reminder-accept", "dongguan-head") in await case.notices()


async def test_decline_tells_the_petitioner_and_ends(case_factory: CaseFactory) -> None:
    case = await case_factory()
    declined = await case.update(
        PetitionWorkflow.decline,
        DeclineRequest(reason="属于诉讼程序处理事项", legal_basis="《信访工作条例》第三十一条"),
    )
    assert (declined.stage, declined.closure) == (Stage.DECLINED, Closure.DECLINED)
    await case.handle.result()
    async with case.sessions() as session:
        slips = await petitions.notices(session, case.handle.id)
    told = [n for n in slips if n.kind == "petitioner"]
    assert len(told) == 1 and "属于诉讼程序处理事项" in told[0].text
    assert "《信访工作条例》第三十一条" in told[0].text


async def test_transfer_restarts_the_clock_at_the_new_unit(case_factory: CaseFactory) -> None:
    case = await case_factory()
    await case.sleep(DAY * 0.6)
    moved = await case.update(
        PetitionWorkflow.transfer, TransferRequest(unit_id="xihe", reason="属西河乡管辖")
    )
    assert moved.unit_id == "xihe"
    await case.until(lambda s: [e.kind for e in s.timeline].count(EventKind.ASSIGNED) == 2)
    await case.sleep(DAY * 0.6)  # 1.2 days since the first unit, 0.6 since the transfer
    assert not [n for n in await case.notices() if n[0] == "reminder"]
    await case.sleep(DAY * 0.5)
    await case.until(lambda s: s.timeline[-1].kind == EventKind.REMINDER)
    slips = await case.notices()
    assert ("assignment", "assignment", "dongguan-h1") in slips
    assert ("assignment", "assignment-1", "xihe-h1") in slips
    assert ("reminder", "reminder-accept-1", "xihe-head") in slips
    kinds = await case.kinds()
    assert kinds[:4] == ["registered", "assigned", "transferred", "assigned"]
    assert "already with unit" in await case.refusal(
        PetitionWorkflow.transfer, TransferRequest(unit_id="xihe", reason="重复转办")
    )
    accepted = await case.accept()
    assert accepted.accountable is not None and accepted.accountable.person_id == "xihe-h1"


async def test_approved_extension_moves_the_deadline_and_the_chain(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory()
    accepted = await case.accept()
    original = deadline(accepted)
    await case.sleep(DAY * 10)
    await case.until(lambda s: s.level == 2)
    asked = await case.update(
        PetitionWorkflow.request_extension, ExtensionRequest(days=20, reason="需要委托第三方鉴定")
    )
    assert asked.extension is not None and asked.extension.approved is None
    assert "at most once" in await case.refusal(
        PetitionWorkflow.request_extension, ExtensionRequest(days=5, reason="再次申请")
    )
    approved = await case.update(
        PetitionWorkflow.decide_extension, ExtensionDecision(approve=True, approver=HEAD)
    )
    moved = deadline(approved)
    assert moved.due_at - original.due_at == DAY * 20  # type: ignore[attr-defined]
    assert "批准延期20日" in moved.reason  # type: ignore[attr-defined]
    assert "李卫东" in moved.reason  # type: ignore[attr-defined]
    slips = await case.notices()
    assert ("petitioner", "petitioner-extension-handling", f"petitioner:{case.handle.id}") in slips
    await case.sleep(DAY * 10)  # day 20: without the extension it would be level 3
    assert (await case.state()).level == 2
    await case.sleep(DAY * 15)  # day 35: the chain moved by 20 days
    await case.until(lambda s: s.level == 3)
    await case.sleep(DAY * 16)  # day 51: past the extended deadline (day 50)
    final = await case.until(lambda s: s.overdue)
    keys = [key for _, key, _ in await case.notices()]
    assert len(keys) == len(set(keys))
    assert [e.level for e in final.timeline if e.kind == EventKind.SUPERVISION] == [2, 3, 4]
    assert [e.kind for e in final.timeline].count(EventKind.OVERDUE) == 1


async def test_refused_extension_changes_nothing_and_is_not_asked_twice(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory()
    accepted = await case.accept()
    assert "at most 30 days" in await case.refusal(
        PetitionWorkflow.request_extension, ExtensionRequest(days=31, reason="太长")
    )
    assert "no extension request pending" in await case.refusal(
        PetitionWorkflow.decide_extension, ExtensionDecision(approve=True, approver=HEAD)
    )
    await case.update(
        PetitionWorkflow.request_extension, ExtensionRequest(days=10, reason="需要补充调查")
    )
    refused = await case.update(
        PetitionWorkflow.decide_extension,
        ExtensionDecision(approve=False, approver=HEAD, note="期限内可以办结"),
    )
    assert refused.extension is not None and refused.extension.approved is False
    assert deadline(refused) == deadline(accepted)
    assert "at most once" in await case.refusal(
        PetitionWorkflow.request_extension, ExtensionRequest(days=10, reason="再次申请")
    )
    assert EventKind.EXTENSION_REFUSED.value in await case.kinds()


async def test_withdrawal_ends_the_chain(case_factory: CaseFactory) -> None:
    case = await case_factory()
    await case.accept()
    await case.sleep(DAY * 8)
    await case.until(lambda s: s.level == 2)
    gone = await case.update(
        PetitionWorkflow.withdraw, WithdrawRequest(reason="已与企业和解", **ON_BEHALF)
    )
    assert (gone.stage, gone.closure) == (Stage.WITHDRAWN, Closure.WITHDRAWN)
    await case.handle.result()
    slips = await case.notices()
    await case.sleep(DAY * 40)
    assert await case.notices() == slips
    with pytest.raises(Exception):  # noqa: B017 (closed: the server refuses any update)
        await case.complete()


async def test_owner_gets_a_copy_of_every_reminder_and_supervision(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory()
    await case.accept()
    owner = COUNTY_LEADER
    owned = await case.update(PetitionWorkflow.set_owner, OwnerRequest(owner=owner))
    assert owned.owner is not None and owned.owner.person_id == "cl-02"
    await case.sleep(DAY * 8)
    await case.until(lambda s: s.level == 2)
    slips = await case.notices()
    assert ("reminder", "reminder-before-escalation-L2:owner", "cl-02") in slips
    assert ("supervision", "escalation-L2:owner", "cl-02") in slips
    assert ("supervision", "escalation-L2", "dongguan-sup") in slips


async def _rate(case: Case, rating: Rating) -> PetitionState:
    return await case.update(
        PetitionWorkflow.rate, RateRequest(rating=rating, comment="评价", **ON_BEHALF)
    )


async def test_dissatisfied_goes_to_review_then_re_review_then_terminates(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory(phone="13900001111", category="demolition_compensation")
    await case.accept()
    await case.complete("经核查，补偿标准符合规定。")
    await _rate(case, Rating.DISSATISFIED)
    await case.until(lambda s: s.stage == Stage.CLOSED)
    # The first round's steps, each written after the update that decided it answered (its
    # 告知书 with the acceptance's), are in before the review is asked for, as they are weeks
    # before it in a county. (The documents are listed by the day each was issued whatever
    # order they were written in: tests/store/test_slip_numbers.py.)
    await case.written()
    review = await case.update(
        PetitionWorkflow.request_review, ReviewRequest(reason="对补偿标准不服")
    )
    assert (review.phase, review.stage, review.unit_id) == (
        Phase.REVIEW,
        Stage.HANDLING,
        "county-review",
    )
    assert review.accountable is not None
    assert review.accountable.person_id == "county-review-h1"
    assert "复查" in deadline(review).reason  # type: ignore[attr-defined]
    await case.sleep(DAY * 8)  # the review has its own chain
    await case.until(lambda s: s.level == 2)
    assert ("supervision", "review:escalation-L2", "county-review-sup") in await case.notices()
    await case.complete("复查意见：维持原答复意见。")
    await _rate(case, Rating.DISSATISFIED)
    await case.until(lambda s: s.stage == Stage.CLOSED)
    re_review = await case.update(PetitionWorkflow.request_review, ReviewRequest(reason="申请复核"))
    assert (re_review.phase, re_review.unit_id) == (Phase.RE_REVIEW, "city-review")
    await case.complete("复核意见：维持复查意见。")
    await _rate(case, Rating.DISSATISFIED)
    final = await case.until(lambda s: s.closure == Closure.TERMINATED)
    assert final.stage == Stage.CLOSED
    # 三级终结: the workflow has closed, so the server itself refuses a further review.
    await case.handle.result()
    with pytest.raises(RPCError):
        await case.update(PetitionWorkflow.request_review, ReviewRequest(reason="再次申请"))
    async with case.sessions() as session:
        documents = await petitions.documents(session, case.handle.id)
        repeat = await petitions.terminated_matter(
            session, phone="13900001111", category="demolition_compensation"
        )
    assert [d.key for d in documents] == [
        "acceptance-handling",
        "acceptance-review",
        "acceptance-re_review",
    ]
    assert repeat == case.handle.id  # a new petition on this matter is flagged as a repeat


async def test_rating_closes_the_case_once(case_factory: CaseFactory) -> None:
    satisfied = await case_factory()
    await satisfied.accept()
    await satisfied.complete()
    rated = await _rate(satisfied, Rating.SATISFIED)
    assert rated.rating == Rating.SATISFIED
    closed = await satisfied.until(lambda s: s.closure == Closure.SATISFIED)
    assert closed.stage == Stage.CLOSED
    await satisfied.handle.result()  # satisfied: nothing left to wait for

    unhappy = await case_factory()
    await unhappy.accept()
    await unhappy.complete()
    await _rate(unhappy, Rating.DISSATISFIED)
    await unhappy.until(lambda s: s.closure == Closure.DISSATISFIED)
    again = RateRequest(rating=Rating.SATISFIED, **ON_BEHALF)
    assert "not waiting for a rating" in await unhappy.refusal(PetitionWorkflow.rate, again)
    await unhappy.sleep(DAY * 31)  # no review asked within 30 days: closed for good
    await unhappy.handle.result()


async def test_acceptance_notice_tells_the_four_things(case_factory: CaseFactory) -> None:
    case = await case_factory()
    await case.accept()
    await case.written()
    async with case.sessions() as session:
        [document] = await petitions.documents(session, case.handle.id)
    text = document.text
    assert "张三" in text  # the petitioner's name, from the intake record
    assert "受理时间" in text and "办理期限" in text
    assert "受理后30日（一般信访事项一个月内办结" in text  # the deadline says why
    assert "赵秀兰" in text and "张明" in text and "0558-6131003" in text  # leader, handler, phone
    assert "重复投诉" in text  # the consequences of repeated complaints
