"""The lifecycle rules without a server: every stage × action refusal by its message, the
allowed pairs, what a rating leads to, which unit reviews, and which slips go to whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.access import Action
from domain.contracts import (
    AcceptRequest,
    AssignRequest,
    ChainLookup,
    CompleteRequest,
    DeclineRequest,
    Extension,
    ExtensionDecision,
    ExtensionRequest,
    OwnerRequest,
    Person,
    PetitionState,
    RateRequest,
    ReviewRequest,
    StepRecord,
    TimelineEvent,
    TransferRequest,
    WithdrawRequest,
)
from domain.lifecycle import (
    NEXT_PHASE,
    ActionRequest,
    closure_after_revisit,
    complete_chain_step,
    refusal,
    review_still_open,
    reviewing_unit,
    round_key,
    round_terms,
    slips_for,
)
from domain.notices import (
    accept_deadline,
    acceptance_statutory_deadline,
    assign_deadline,
    notice_text,
    review_request_deadline,
    revisit_deadline,
)
from domain.policy import EscalationPolicy
from domain.vocabulary import (
    Category,
    Closure,
    EventKind,
    NoticeKind,
    Phase,
    Rating,
    Role,
    Stage,
    Track,
)

NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
PID = "XF-2026-000001"
CAP = 30
HEAD = Person(person_id="h", name="李明", title="镇长", role=Role.UNIT_HEAD, unit_id="dongguan")
OWNER = Person(person_id="o", name="王强", title="副县长", role=Role.CASE_OWNER, unit_id="bureau")
HANDLER = Person(person_id="c", name="张三", title="干事", role=Role.HANDLER, unit_id="dongguan")

# One request per action, each one the rules would let through in the right stage.
REQUESTS: dict[Action, ActionRequest] = {
    Action.ASSIGN: AssignRequest(unit_id="dongguan"),
    Action.ACCEPT: AcceptRequest(),
    Action.DECLINE: DeclineRequest(reason="不属于信访事项", legal_basis="第十四条"),
    Action.TRANSFER: TransferRequest(unit_id="xihe", reason="属地"),
    Action.WITHDRAW: WithdrawRequest(reason="已解决"),
    Action.REQUEST_EXTENSION: ExtensionRequest(days=10, reason="情况复杂"),
    Action.DECIDE_EXTENSION: ExtensionDecision(approve=True, approver=HEAD),
    Action.COMPLETE: CompleteRequest(reply="已答复"),
    Action.RATE: RateRequest(rating=Rating.DISSATISFIED),
    Action.REQUEST_REVIEW: ReviewRequest(reason="不服"),
    Action.SET_OWNER: OwnerRequest(owner=OWNER),
}
OPEN = {Stage.REGISTERED, Stage.ASSIGNED, Stage.HANDLING, Stage.OVERDUE}
# The stages in which each action is allowed (given the facts below that it needs).
ALLOWED: dict[Action, set[Stage]] = {
    Action.ASSIGN: {Stage.REGISTERED},
    Action.ACCEPT: {Stage.ASSIGNED},
    Action.DECLINE: {Stage.ASSIGNED},
    Action.TRANSFER: {Stage.ASSIGNED},
    Action.WITHDRAW: OPEN,
    Action.REQUEST_EXTENSION: {Stage.HANDLING},
    Action.DECIDE_EXTENSION: {Stage.HANDLING},
    Action.COMPLETE: {Stage.HANDLING, Stage.OVERDUE},
    Action.RATE: {Stage.REPLIED},
    Action.REQUEST_REVIEW: {Stage.REPLIED, Stage.CLOSED},
    Action.SET_OWNER: OPEN,
}


def stage_refusal(action: Action, stage: Stage) -> str:
    """Today's 409 text when ``action`` meets a petition in ``stage``."""
    match action:
        case Action.ASSIGN:
            return f"petition {PID} is already {stage}; transfer it (转办) to change the unit"
        case Action.ACCEPT | Action.DECLINE | Action.TRANSFER:
            verb = {Action.ACCEPT: "accepted", Action.DECLINE: "declined"}.get(
                action, "transferred"
            )
            return f"petition {PID} cannot be {verb}: it is already {stage}"
        case Action.WITHDRAW:
            return f"petition {PID} cannot be withdrawn: it is already {stage}"
        case Action.REQUEST_EXTENSION:
            return f"petition {PID} cannot be extended while {stage}"
        case Action.COMPLETE if stage in (Stage.REGISTERED, Stage.ASSIGNED):
            return f"petition {PID} cannot be completed before the unit accepts it"
        case Action.COMPLETE:
            return f"petition {PID} is already completed ({stage})"
        case Action.RATE:
            return f"petition {PID} is not waiting for a rating ({stage})"
        case Action.REQUEST_REVIEW:
            return f"petition {PID} cannot be reviewed now ({stage}, handling)"
        case _:  # DECIDE_EXTENSION, SET_OWNER
            return f"petition {PID} is {stage}"


def petition(stage: Stage, **changes: object) -> PetitionState:
    state = PetitionState(
        id=PID,
        unit_id="dongguan",
        track=Track.GENERAL,
        category=Category.OTHER,
        stage=stage,
        registered_at=NOW - timedelta(days=20),
        policy_version="2026.1",
    )
    return state.model_copy(update=changes)


def ask(
    state: PetitionState,
    action: Action,
    request: ActionRequest | None = None,
    *,
    now: datetime = NOW,
    review_due: datetime | None = NOW + timedelta(days=1),
    review_requested: bool = False,
) -> str | None:
    return refusal(
        state,
        action,
        request if request is not None else REQUESTS[action],
        now,
        max_extension_days=CAP,
        review_due=review_due,
        review_requested=review_requested,
    )


PENDING = Extension(days=10, reason="情况复杂", requested_at=NOW - timedelta(days=1))
STAGE_ACTION = [(stage, action) for action in ALLOWED for stage in Stage]


@pytest.mark.parametrize(
    ("stage", "action"), STAGE_ACTION, ids=[f"{a}-{s}" for s, a in STAGE_ACTION]
)
def test_each_stage_allows_or_refuses_each_action_by_name(stage: Stage, action: Action) -> None:
    # The facts besides the stage are those the action needs (a pending extension to decide).
    extension = PENDING if action is Action.DECIDE_EXTENSION else None
    answer = ask(petition(stage, extension=extension), action)
    if stage in ALLOWED[action]:
        assert answer is None
    else:
        assert answer == stage_refusal(action, stage)


def test_transfer_to_the_same_unit_is_refused() -> None:
    same = TransferRequest(unit_id="dongguan", reason="属地")
    answer = ask(petition(Stage.ASSIGNED), Action.TRANSFER, same)
    assert answer == f"petition {PID} is already with unit dongguan"


def test_an_extension_is_asked_once_and_capped_by_the_policy() -> None:
    twice = ask(petition(Stage.HANDLING, extension=PENDING), Action.REQUEST_EXTENSION)
    assert twice == f"petition {PID} has already asked for an extension (at most once)"
    too_long = ExtensionRequest(days=CAP + 1, reason="情况复杂")
    answer = ask(petition(Stage.HANDLING), Action.REQUEST_EXTENSION, too_long)
    assert answer == f"an extension is at most {CAP} days (信访条例第三十三条), {CAP + 1} asked"
    at_cap = ExtensionRequest(days=CAP, reason="情况复杂")
    assert ask(petition(Stage.HANDLING), Action.REQUEST_EXTENSION, at_cap) is None


@pytest.mark.parametrize("extension", [None, PENDING.model_copy(update={"approved": False})])
def test_only_a_pending_extension_is_decided(extension: Extension | None) -> None:
    answer = ask(petition(Stage.HANDLING, extension=extension), Action.DECIDE_EXTENSION)
    assert answer == f"petition {PID} has no extension request pending"


def test_a_rating_is_given_once() -> None:
    rated = petition(Stage.REPLIED, rating=Rating.DISSATISFIED)
    assert ask(rated, Action.RATE) == f"petition {PID} is already rated"


def test_review_needs_an_open_window() -> None:
    replied = petition(Stage.REPLIED)
    assert ask(replied, Action.REQUEST_REVIEW, review_due=None) == (
        f"petition {PID} cannot be reviewed now (replied, handling)"
    )
    closed = f"the window to ask for review of {PID} has closed"
    assert ask(replied, Action.REQUEST_REVIEW, now=NOW + timedelta(days=2)) == closed
    assert ask(replied, Action.REQUEST_REVIEW, review_requested=True) == closed
    # The last moment of the window still counts.
    assert ask(replied, Action.REQUEST_REVIEW, now=NOW + timedelta(days=1)) is None


@pytest.mark.parametrize(
    "state",
    [
        petition(Stage.REPLIED, phase=Phase.RE_REVIEW),
        petition(Stage.CLOSED, phase=Phase.REVIEW, closure=Closure.TERMINATED),
    ],
)
def test_after_re_review_the_same_facts_are_not_accepted_again(state: PetitionState) -> None:
    assert ask(state, Action.REQUEST_REVIEW) == (
        f"petition {PID} has been re-reviewed: 三级终结, the same facts are not accepted again"
    )


@pytest.mark.parametrize("rating", [Rating.SATISFIED, Rating.BASICALLY_SATISFIED])
def test_a_satisfied_petitioner_asks_no_review(rating: Rating) -> None:
    state = petition(Stage.CLOSED, rating=rating)
    assert ask(state, Action.REQUEST_REVIEW) == f"petition {PID} was rated {rating}"


@pytest.mark.parametrize(
    "action", [Action.REGISTER, Action.ADMINISTER_DIRECTORY, Action.READ_AUDIT]
)
def test_actions_outside_one_petition_have_no_lifecycle_rule(action: Action) -> None:
    with pytest.raises(ValueError, match="no lifecycle rule"):
        ask(petition(Stage.HANDLING), action, REQUESTS[Action.ACCEPT])


# ----------------------------------------------------------------------------- what comes next


@pytest.mark.parametrize(
    ("rating", "phase", "closure"),
    [
        (Rating.SATISFIED, Phase.HANDLING, Closure.SATISFIED),
        (Rating.BASICALLY_SATISFIED, Phase.HANDLING, Closure.BASICALLY_SATISFIED),
        (Rating.DISSATISFIED, Phase.HANDLING, Closure.DISSATISFIED),
        (None, Phase.HANDLING, Closure.NOT_REACHED),
        (Rating.DISSATISFIED, Phase.REVIEW, Closure.DISSATISFIED),
        (None, Phase.REVIEW, Closure.NOT_REACHED),
        # 三级终结: after 复核 the case ends, whatever the rating.
        (Rating.SATISFIED, Phase.RE_REVIEW, Closure.TERMINATED),
        (Rating.DISSATISFIED, Phase.RE_REVIEW, Closure.TERMINATED),
        (None, Phase.RE_REVIEW, Closure.TERMINATED),
    ],
)
def test_what_a_rating_leads_to(rating: Rating | None, phase: Phase, closure: Closure) -> None:
    assert closure_after_revisit(rating, phase) == closure


def test_only_a_petitioner_not_satisfied_may_still_ask_for_review() -> None:
    still_open = {c for c in Closure if review_still_open(c)}
    assert still_open == {Closure.DISSATISFIED, Closure.NOT_REACHED}


def test_the_rounds_climb_to_re_review_and_stop() -> None:
    assert NEXT_PHASE == {Phase.HANDLING: Phase.REVIEW, Phase.REVIEW: Phase.RE_REVIEW}


@pytest.mark.parametrize(
    ("units", "phase", "unit"),
    [
        (["county-review", "city-review"], Phase.REVIEW, "county-review"),
        (["county-review", "city-review"], Phase.RE_REVIEW, "city-review"),
        (["county-review"], Phase.RE_REVIEW, "county-review"),  # one body does both
    ],
)
def test_which_unit_reviews(units: list[str], phase: Phase, unit: str) -> None:
    assert reviewing_unit(units, phase) == unit


def test_a_review_round_is_planned_on_its_own_limit_and_keys() -> None:
    policy = EscalationPolicy(review_days=20)
    assert round_terms(policy, Track.SIMPLE, Phase.HANDLING) == (policy, Track.SIMPLE)
    reviewed, track = round_terms(policy, Track.SIMPLE, Phase.REVIEW)
    assert (reviewed.general_deadline_days, track) == (20, Track.GENERAL)
    assert round_key(Phase.HANDLING, "overdue") == "overdue"
    assert round_key(Phase.RE_REVIEW, "overdue") == "re_review:overdue"


# ----------------------------------------------------------------------------- the slips


def slips(kind: NoticeKind, recipient: Person, owner: Person | None) -> list[tuple[str, str]]:
    made = slips_for(
        kind,
        "escalation-L2",
        petition_id=PID,
        recipient=recipient,
        owner=owner,
        level=2,
        note="升级",
        accept_days=1,
    )
    return [(s.key, s.recipient.role) for s in made]


@pytest.mark.parametrize("kind", [NoticeKind.REMINDER, NoticeKind.SUPERVISION, NoticeKind.OVERDUE])
def test_the_case_owner_gets_a_copy_of_the_chain_slips(kind: NoticeKind) -> None:
    leader = OWNER.model_copy(update={"role": Role.COUNTY_CONTACT_LEADER})
    assert slips(kind, HANDLER, leader) == [
        ("escalation-L2", Role.HANDLER),
        ("escalation-L2:owner", Role.CASE_OWNER),
    ]
    assert slips(kind, HANDLER, None) == [("escalation-L2", Role.HANDLER)]
    # The owner who receives the slip anyway gets no second one.
    assert slips(kind, OWNER, OWNER) == [("escalation-L2", Role.CASE_OWNER)]


@pytest.mark.parametrize("kind", [NoticeKind.ASSIGNMENT, NoticeKind.PETITIONER])
def test_no_copy_of_assignment_or_petitioner_slips(kind: NoticeKind) -> None:
    assert slips(kind, HANDLER, OWNER) == [("escalation-L2", Role.HANDLER)]


def test_the_petitioner_slip_and_the_assignment_slip_read_as_today() -> None:
    [told] = slips_for(
        NoticeKind.PETITIONER,
        "petitioner-decline",
        petition_id=PID,
        recipient=HANDLER,
        owner=None,
        level=None,
        note="不予受理",
        accept_days=1,
    )
    assert told.text == f"【告知书】信访人：您的信访事项 {PID}：不予受理。"
    assigned = notice_text(NoticeKind.ASSIGNMENT, PID, None, HANDLER, None)
    assert assigned == (
        f"【交办单】张三（干事）：信访事项 {PID}。该信访事项已交办你单位，请于1日内受理。"
    )
    # The window named is the policy's, not a fixed day.
    assert "请于2日内受理" in notice_text(
        NoticeKind.ASSIGNMENT, PID, None, HANDLER, None, accept_days=2
    )


def test_the_deadlines_are_worded_from_the_policy() -> None:
    default = EscalationPolicy()
    assert assign_deadline(default, NOW).reason == "登记后1日内交办（“四个一”：一天内交办）"
    assert accept_deadline(default, NOW).reason == "交办后1日内受理（“四个一”：一天内受理）"
    assert accept_deadline(default, NOW).due_at == NOW + timedelta(days=1)
    assert acceptance_statutory_deadline(default, NOW).reason == (
        "收到信访事项之日起15日内决定是否受理并书面告知信访人（信访条例第二十一、二十二条）"
    )
    assert revisit_deadline(default, NOW).reason == (
        "答复后7日内回访（闭环管理：必回访）；逾期未评价按“未联系上”结案"
    )
    window = review_request_deadline(default, NOW, Phase.REVIEW)
    assert (window.description, window.due_at) == ("申请复查期限", NOW + timedelta(days=30))
    # A county giving two days to accept does not cite the one-day rule for it.
    slower = EscalationPolicy(accept_days=2)
    assert accept_deadline(slower, NOW).reason == "交办后2日内受理（按政策受理时限）"


def test_the_others_told_get_a_copy_first_each_person_once() -> None:
    leader = OWNER.model_copy(update={"person_id": "cl", "role": Role.COUNTY_CONTACT_LEADER})
    made = slips_for(
        NoticeKind.OVERDUE,
        "overdue",
        petition_id=PID,
        recipient=HANDLER,
        owner=OWNER,
        level=4,
        note="逾期",
        accept_days=1,
        # The leader, the recipient (a vacant post fell to them) and the leader again.
        also=[(leader, "overdue:a"), (HANDLER, "overdue:b"), (leader, "overdue:c")],
    )
    assert [(s.key, s.recipient.person_id) for s in made] == [
        ("overdue:a", "cl"),
        ("overdue", "c"),
        ("overdue:owner", "o"),
    ]


def chain_step(kind: EventKind, look_up: ChainLookup, owner: Person | None) -> StepRecord:
    """A chain step as the workflow decides it: its entry without a person, its slips to come."""
    event = TimelineEvent(seq=5, at=NOW, kind=kind, level=4, note="第三周未办结")
    state = petition(Stage.HANDLING, level=4, accountable=HANDLER, owner=owner)
    return StepRecord(state=state, event=event, planned={5: NOW}, look_up=look_up)


def test_a_chain_step_is_completed_with_who_holds_the_post() -> None:
    """What ``record_chain_step`` writes for a step with a ``ChainLookup``: the holder on the
    entry and the slip, accountable for an escalation, the others told copied first."""
    head = HANDLER.model_copy(update={"person_id": "h", "role": Role.UNIT_HEAD})
    escalation = ChainLookup(
        role=Role.UNIT_HEAD,
        notice=NoticeKind.SUPERVISION,
        key="escalation-L4",
        accept_days=1,
        accountable=True,
    )
    done = complete_chain_step(chain_step(EventKind.SUPERVISION, escalation, OWNER), head, [])
    assert (done.event.person_id, done.event.person_name, done.event.role) == (
        "h",
        "张三",
        Role.UNIT_HEAD,
    )
    assert (done.event.seq, done.event.level, done.event.note) == (5, 4, "第三周未办结")
    assert done.state.accountable == head and done.planned == {5: NOW}
    assert [(n.key, n.recipient.person_id, n.level) for n in done.notices] == [
        ("escalation-L4", "h", 4),
        ("escalation-L4:owner", "o", 4),
    ]
    assert "第三周未办结" in done.notices[0].text and done.look_up is None
    # An overdue: the bureau's dispatcher gets it, the county leaders a copy each; the
    # accountable person stays who they were.
    dispatcher = HANDLER.model_copy(update={"person_id": "d", "role": Role.BUREAU_DISPATCHER})
    leader = OWNER.model_copy(update={"person_id": "cl", "role": Role.COUNTY_CONTACT_LEADER})
    overdue = escalation.model_copy(
        update={
            "role": Role.BUREAU_DISPATCHER,
            "told": [Role.COUNTY_CONTACT_LEADER],
            "notice": NoticeKind.OVERDUE,
            "key": "overdue",
            "accountable": False,
        }
    )
    done = complete_chain_step(chain_step(EventKind.OVERDUE, overdue, None), dispatcher, [leader])
    assert done.state.accountable == HANDLER
    assert [(n.key, n.recipient.person_id) for n in done.notices] == [
        ("overdue:county_contact_leader", "cl"),
        ("overdue", "d"),
    ]
