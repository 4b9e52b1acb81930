"""The intake clock on the time-skipping server (issue 10): the statutory 交办/受理 limits end in
a 督办单 and 逾期未受理, the deadlines and PetitionDueAt stay true, a unit counting working days
gets its one-day window in working days, and each slip says what the moment is."""

from __future__ import annotations

from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain.calendar import add_working_days, china_calendar
from domain.contracts import (
    AcceptRequest,
    ExtensionRequest,
    OwnerRequest,
    PlanRequest,
    ReviewRequest,
)
from domain.lifecycle import plan_round
from domain.plan import StepKind
from domain.policy import BEIJING
from domain.vocabulary import EventKind, Phase, Stage
from store import petition_lists, petitions
from tests.helpers.county import COUNTY_LEADER
from tests.helpers.workflows import DAY, Case, CaseFactory, due_attribute
from workflows.petition import PetitionWorkflow


async def slips(case: Case) -> dict[str, tuple[str, str, str]]:
    """The written slips by key: (kind, recipient, text)."""
    await case.written()
    async with case.sessions() as session:
        rows = await petitions.notices(session, case.handle.id)
    return {n.key: (n.kind, n.recipient_id, n.text) for n in rows}


async def test_unaccepted_at_the_statutory_limit_is_supervised_and_flagged(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory()
    await case.sleep(DAY * 1.1)  # the county's one-day window has passed
    await case.until(lambda s: s.timeline[-1].kind == EventKind.REMINDER)
    kind, recipient, text = (await slips(case))["reminder-accept"]
    assert (kind, recipient) == ("reminder", "dongguan-head")
    assert "已超期" in text and "即将到期" not in text  # sent after the expiry
    state = await case.state()
    statutory = next(d for d in state.deadlines if d.kind == "acceptance_statutory")
    assert [d.kind for d in state.deadlines if not d.passed] == ["acceptance_statutory"]
    assert await due_attribute(case) == statutory.due_at  # not the accept window's, passed

    await case.sleep(DAY * 14)  # day 15.1: the statutory limit to decide has passed
    state = await case.until(lambda s: s.timeline[-1].kind == EventKind.INTAKE_OVERDUE)
    assert state.unaccepted_overdue and state.stage == Stage.ASSIGNED
    assert all(d.passed for d in state.deadlines)
    assert await due_attribute(case) is None
    written = await slips(case)
    assert written["supervision-accept-unit_head"][:2] == ("supervision", "dongguan-head")
    assert written["supervision-accept-bureau_dispatcher"][:2] == ("supervision", "bureau-01")
    assert "逾期未受理" in written["supervision-accept-unit_head"][2]
    async with case.sessions() as session:
        row = await petitions.get(session, case.handle.id)
        listed, total = await petition_lists.search(
            session, petition_lists.PetitionFilter(unaccepted_overdue=True), limit=10, offset=0
        )
    assert row is not None and row.unaccepted_overdue and row.next_due_at is None
    assert [r.id for r in listed] == [case.handle.id] and total == 1

    await case.sleep(DAY * 5)  # nothing more until the unit acts: one step, a 督办单 per post
    assert [e.kind for e in (await case.state()).timeline].count(EventKind.INTAKE_OVERDUE) == 1
    accepted = await case.accept()  # late, but still accepted; the record keeps the flag
    assert accepted.stage == Stage.HANDLING and accepted.unaccepted_overdue


async def test_the_bureau_is_supervised_at_its_own_limit_to_assign(
    case_factory: CaseFactory,
) -> None:
    case = await case_factory(unit_id=None)
    await case.until(lambda s: bool(s.deadlines))
    await case.sleep(DAY * 1.1)
    reminded = await case.until(lambda s: s.timeline[-1].kind == EventKind.REMINDER)
    pending = [d.kind for d in reminded.deadlines if not d.passed]
    assert pending == ["assign_statutory"]  # what the bureau is now waited for
    assert "已超期" in (await slips(case))["reminder-assign"][2]
    await case.sleep(DAY * 14)
    state = await case.until(lambda s: s.timeline[-1].kind == EventKind.INTAKE_OVERDUE)
    assert state.stage == Stage.REGISTERED and not state.unaccepted_overdue
    assert all(d.passed for d in state.deadlines)
    # The bureau has no chief in the demo directory: its dispatcher receives it, told why.
    kind, recipient, text = (await slips(case))["supervision-assign-unit_head"]
    assert (kind, recipient) == ("supervision", "bureau-01") and "逾期未交办" in text


async def test_a_one_day_accept_window_counts_the_units_working_days(
    case_factory: CaseFactory, time_env: WorkflowEnvironment
) -> None:
    """县人社局 (renshe) counts working days: assigned on a Friday before a weekend off, its
    window ends on the next working day (Monday, or later around a holiday), and no reminder
    comes at the weekend."""
    today = (await time_env.get_current_time()).astimezone(BEIJING)
    calendar = china_calendar(range(today.year, today.year + 2))
    skip = (4 - today.weekday()) % 7  # to a Friday, Beijing time, whose weekend is off
    while any(calendar.is_workday((today + DAY * (skip + d)).date()) for d in (1, 2)):
        skip += 7
    await time_env.sleep(DAY * skip)
    friday = await case_factory(unit_id="renshe")
    state = await friday.state()
    assert state.assigned_at is not None
    assigned = state.assigned_at.astimezone(BEIJING)
    assert assigned.weekday() == 4
    expected = datetime.combine(add_working_days(assigned.date(), 1, calendar), assigned.timetz())
    accept = next(d for d in state.deadlines if d.kind == "accept")
    assert accept.due_at.astimezone(BEIJING) == expected
    assert accept.due_at - state.assigned_at >= DAY * 3  # past the weekend
    assert "1个工作日" in accept.reason
    await friday.sleep(DAY * 1.5)  # Saturday night: within the window
    assert "reminder-accept" not in await slips(friday)


async def test_the_assignment_slip_and_the_notice_name_who_handles_and_who_owns(
    case_factory: CaseFactory,
) -> None:
    plain = await case_factory()
    await plain.update(PetitionWorkflow.accept, AcceptRequest(handler_id="dongguan-h2"))
    written = await slips(plain)
    assert written["assignment"][:2] == ("assignment", "dongguan-h1")
    # The handler the unit named gets the 交办单 too: they handle it.
    assert written["assignment-1:handler"][:2] == ("assignment", "dongguan-h2")
    async with plain.sessions() as session:
        [document] = await petitions.documents(session, plain.handle.id)
    assert "包案领导" not in document.text and "分管领导：赵秀兰" in document.text

    # The acceptance answered after one lookup (its handler): the 告知书's leader above was
    # found by its writer, not in the workflow task that answered (leader-found-by-writer).
    history = await plain.handle.fetch_history()
    kinds = [EventType.Name(e.event_type) for e in history.events]
    answered = kinds.index("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED")
    asked = kinds.index("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert kinds[asked:answered].count("EVENT_TYPE_MARKER_RECORDED") == 1, kinds[asked:answered]

    owned = await case_factory()
    await owned.update(PetitionWorkflow.set_owner, OwnerRequest(owner=COUNTY_LEADER))
    await owned.accept()
    await owned.written()
    async with owned.sessions() as session:
        [document] = await petitions.documents(session, owned.handle.id)
    assert "包案领导：周海涛" in document.text
    assert "assignment-1:handler" not in await slips(owned)  # the 交办单's handler handles it


async def test_no_extension_is_granted_in_review(case_factory: CaseFactory) -> None:
    case = await case_factory()
    await case.accept()
    await case.complete()
    await case.sleep(DAY * 7.1)  # not reached within the revisit window: review still open
    await case.until(lambda s: s.stage == Stage.CLOSED)
    review = await case.update(PetitionWorkflow.request_review, ReviewRequest(reason="不服"))
    assert review.phase == Phase.REVIEW
    why = await case.refusal(
        PetitionWorkflow.request_extension, ExtensionRequest(days=10, reason="需要鉴定")
    )
    assert "cannot be extended in review" in why and "no extension" in why
    state = await case.state()
    overdue = next(d for d in state.deadlines if d.kind == "overdue")
    assert state.extension is None and state.accepted_at is not None
    assert overdue.due_at - state.accepted_at == DAY * 30


async def test_a_round_is_planned_in_the_workflow_from_the_working_days_it_holds(
    case_factory: CaseFactory,
) -> None:
    """Since the patch ``plan-in-workflow`` (issue 9) an acceptance waits for one lookup (the
    handler), not two: the plan is computed in the workflow from the working days looked up
    for the intake windows, the same plan the old ``plan_handling`` activity gives."""
    case = await case_factory(unit_id="renshe")  # counts working days (县人社局)
    await case.accept()
    state = await case.state()
    assert state.accepted_at is not None
    accepted = state.accepted_at.astimezone(BEIJING)
    request = PlanRequest(
        policy=case.settings.policy("renshe", state.category),
        track=state.track,
        phase=Phase.HANDLING,
        accepted_at=state.accepted_at,
    )
    expected = plan_round(request, china_calendar(range(accepted.year, accepted.year + 3)))
    chain = {StepKind.ESCALATION.value, StepKind.OVERDUE.value}
    planned = [(d.kind, d.due_at, d.reason) for d in state.deadlines if d.kind in chain]
    assert planned == [(s.kind.value, s.at, s.reason) for s in expected if s.kind in chain]
    assert any("工作日" in reason for _, _, reason in planned)
    # No plan lookup in the history: one calendar lookup (the intake's), none other.
    looked_up = []
    async for event in case.handle.fetch_history_events():
        if event.HasField("marker_recorded_event_attributes"):
            for payloads in event.marker_recorded_event_attributes.details.values():
                looked_up += [p.data for p in payloads.payloads]
    assert not any(b"plan_handling" in data for data in looked_up)
    assert sum(b"workday_calendar" in data for data in looked_up) == 1
