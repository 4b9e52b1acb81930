"""The petition's lifecycle (闭环) as rules: which officer action each stage and phase allows
and why not, what a rating or a review request leads to, which unit reviews, and which slips a
step produces and for whom.

Pure, like the rest of domain/: the moment is an argument (``now``), never read from a clock,
so the workflow's update validators and the unit tests ask the same questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.access import Action
from domain.calendar import DayCount, WorkdayCalendar
from domain.contracts import (
    AcceptRequest,
    AssignRequest,
    CompleteRequest,
    DeclineRequest,
    ExtensionDecision,
    ExtensionRequest,
    Notice,
    OwnerRequest,
    Person,
    PetitionState,
    PlanRequest,
    RateRequest,
    ReviewRequest,
    StepRecord,
    TransferRequest,
    WithdrawRequest,
)
from domain.notices import notice_text, petitioner_text, review_round_steps
from domain.plan import PlannedStep, handling_plan
from domain.policy import PRODUCTION_DAY_SECONDS, EscalationPolicy
from domain.vocabulary import Closure, NoticeKind, Phase, Rating, Role, Stage, Track

# What an officer's command carries; the rules read only what they need of it.
ActionRequest = (
    AssignRequest
    | AcceptRequest
    | DeclineRequest
    | TransferRequest
    | WithdrawRequest
    | ExtensionRequest
    | ExtensionDecision
    | CompleteRequest
    | RateRequest
    | ReviewRequest
    | OwnerRequest
)

# A petition still open to withdrawal and a case owner (包案): not yet replied, declined or closed.
OPEN_STAGES = (Stage.REGISTERED, Stage.ASSIGNED, Stage.HANDLING, Stage.OVERDUE)
# The chain runs (and may be completed) in these stages: an overdue case is still handled.
HANDLING_STAGES = (Stage.HANDLING, Stage.OVERDUE)
# 三级: 办理 → 复查 → 复核; after 复核 the same facts are not accepted again (三级终结).
NEXT_PHASE = {Phase.HANDLING: Phase.REVIEW, Phase.REVIEW: Phase.RE_REVIEW}
# The slips a case owner (包案领导) receives a copy of.
OWNER_COPIED = (NoticeKind.REMINDER, NoticeKind.SUPERVISION, NoticeKind.OVERDUE)
_RATED_CLOSURE: dict[Rating | None, Closure] = {
    None: Closure.NOT_REACHED,
    Rating.SATISFIED: Closure.SATISFIED,
    Rating.BASICALLY_SATISFIED: Closure.BASICALLY_SATISFIED,
    Rating.DISSATISFIED: Closure.DISSATISFIED,
}


# ----------------------------------------------------------------------------- what is allowed


def refusal(
    state: PetitionState,
    action: Action,
    request: ActionRequest | None,
    now: datetime,
    *,
    max_extension_days: int,
    review_due: datetime | None = None,
    review_requested: bool = False,
    review_days: float = 30,
) -> str | None:
    """Why ``action`` cannot be taken on the petition now, or None when it can.

    ``max_extension_days`` is the policy's cap on an extension (信访条例第三十三条);
    ``review_days`` the policy's limit for 复查/复核, which has no extension (arts. 34/35);
    ``review_due`` is when the window to ask for the next round closes (None when there is no
    window: before the reply, or after 复核); ``review_requested`` whether it was asked already.
    """
    pid, stage = state.id, state.stage
    match action:
        case Action.ASSIGN:
            if stage != Stage.REGISTERED:
                return f"petition {pid} is already {stage}; transfer it (转办) to change the unit"
        case Action.ACCEPT:
            return _unless(state, Stage.ASSIGNED, "accepted")
        case Action.DECLINE:
            return _unless(state, Stage.ASSIGNED, "declined")
        case Action.TRANSFER:
            assert isinstance(request, TransferRequest)
            if stage != Stage.ASSIGNED:
                return _unless(state, Stage.ASSIGNED, "transferred")
            if request.unit_id == state.unit_id:
                return f"petition {pid} is already with unit {request.unit_id}"
        case Action.WITHDRAW:
            if stage not in OPEN_STAGES:
                return f"petition {pid} cannot be withdrawn: it is already {stage}"
        case Action.REQUEST_EXTENSION:
            assert isinstance(request, ExtensionRequest)
            return _extension_refusal(state, request.days, max_extension_days, review_days)
        case Action.DECIDE_EXTENSION:
            extension = state.extension
            if extension is None or extension.approved is not None:
                return f"petition {pid} has no extension request pending"
            if stage != Stage.HANDLING:
                return f"petition {pid} is {stage}"
        case Action.COMPLETE:
            if stage in (Stage.REGISTERED, Stage.ASSIGNED):
                return f"petition {pid} cannot be completed before the unit accepts it"
            if stage not in HANDLING_STAGES:
                return f"petition {pid} is already completed ({stage})"
        case Action.RATE:
            if stage != Stage.REPLIED:
                return f"petition {pid} is not waiting for a rating ({stage})"
            if state.rating is not None:
                return f"petition {pid} is already rated"
        case Action.REQUEST_REVIEW:
            return _review_refusal(state, now, review_due, review_requested)
        case Action.SET_OWNER:
            if stage not in OPEN_STAGES:
                return f"petition {pid} is {stage}"
        case _:
            # Registering and the directory are not steps of one petition's lifecycle.
            raise ValueError(f"no lifecycle rule for {action}")
    return None


def _unless(state: PetitionState, stage: Stage, verb: str) -> str | None:
    if state.stage == stage:
        return None
    return f"petition {state.id} cannot be {verb}: it is already {state.stage}"


def _extension_refusal(state: PetitionState, days: int, cap: int, review_days: float) -> str | None:
    """延期 (信访条例第三十三条): once, while handled in time, for at most the policy's cap;
    never in 复查/复核, which the statute gives a fixed limit (arts. 34/35)."""
    if state.phase != Phase.HANDLING:
        return (
            f"petition {state.id} cannot be extended in {state.phase}: 复查/复核 is decided "
            f"within {review_days:g} days, with no extension (信访条例第三十四、三十五条)"
        )
    if state.stage != Stage.HANDLING:
        return f"petition {state.id} cannot be extended while {state.stage}"
    if state.extension is not None:
        return f"petition {state.id} has already asked for an extension (at most once)"
    if days > cap:
        return f"an extension is at most {cap} days (信访条例第三十三条), {days} asked"
    return None


def _review_refusal(
    state: PetitionState, now: datetime, review_due: datetime | None, review_requested: bool
) -> str | None:
    """复查/复核 (arts. 34/35): after a reply not found satisfying, within the window, once."""
    pid = state.id
    if state.stage not in (Stage.REPLIED, Stage.CLOSED) or review_due is None:
        return f"petition {pid} cannot be reviewed now ({state.stage}, {state.phase})"
    if state.closure == Closure.TERMINATED or state.phase == Phase.RE_REVIEW:
        return (
            f"petition {pid} has been re-reviewed: 三级终结, the same facts are not accepted again"
        )
    if state.rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED):
        return f"petition {pid} was rated {state.rating}"
    if now > review_due or review_requested:
        return f"the window to ask for review of {pid} has closed"
    return None


# ----------------------------------------------------------------------------- what comes next


def closure_after_revisit(rating: Rating | None, phase: Phase) -> Closure:
    """How a round closes when no review was asked: as rated (no rating within the revisit
    window is 未联系上), and after 复核 always 三级终结, whatever the rating."""
    if phase == Phase.RE_REVIEW:
        return Closure.TERMINATED
    return _RATED_CLOSURE[rating]


def review_still_open(closure: Closure) -> bool:
    """A petitioner not satisfied (or not reached) may still ask for the next round after the
    case is closed, until the window ends."""
    return closure in (Closure.DISSATISFIED, Closure.NOT_REACHED)


def terminated_repeat(repeat_of: str | None, new_facts: str | None) -> str | None:
    """三级终结 (信访工作条例第三十五条): a matter re-reviewed is not run again on the same facts
    and reasons. The earlier petition's number when a repeat of it is to be declined (不予受理),
    None when it is no repeat or the bureau recorded new facts and reasons (新的事实和理由)."""
    return repeat_of if repeat_of and not new_facts else None


def reviewing_unit(review_units: list[str], phase: Phase) -> str:
    """复查 goes to the first review body, 复核 to the second (the first again if only one)."""
    if phase == Phase.REVIEW:
        return review_units[0]
    return review_units[min(1, len(review_units) - 1)]


def round_terms(
    policy: EscalationPolicy, track: Track, phase: Phase
) -> tuple[EscalationPolicy, Track]:
    """The policy and track a round is planned with: 复查/复核 are decided within
    ``review_days``, whatever the original track."""
    if phase == Phase.HANDLING:
        return policy, track
    return policy.model_copy(update={"general_deadline_days": policy.review_days}), Track.GENERAL


def plan_round(request: PlanRequest, calendar: WorkdayCalendar | None) -> list[PlannedStep]:
    """A round's reminders, escalations and deadline, from its acceptance (moved by an approved
    extension). ``calendar`` holds the working days when the policy counts them on a production
    clock (``needs_calendar``); it is read from the holiday tables by an activity, so the plan is
    the same whenever it is computed again (a replay, a re-plan)."""
    policy, track = round_terms(request.policy, request.track, request.phase)
    steps = handling_plan(
        policy,
        track,
        request.accepted_at,
        calendar=calendar if needs_calendar(policy) else None,
        extension_days=request.extension_days,
        extension_note=request.extension_note,
        extended_at=request.extended_at,
    )
    if request.phase != Phase.HANDLING:
        steps = review_round_steps(steps, request.phase, policy.review_days)
    return steps


def needs_calendar(policy: EscalationPolicy) -> bool:
    """Whether the policy's days are working days counted on a production clock (a compressed
    policy day counts plain days: there is no Sunday in a quarter second)."""
    return policy.day_count == DayCount.WORKING and policy.day_seconds == PRODUCTION_DAY_SECONDS


def round_key(phase: Phase, key: str) -> str:
    """A planned step's key within its round: a review round's slips stay distinct from the
    first round's (notices are deduplicated on the key)."""
    return key if phase == Phase.HANDLING else f"{phase}:{key}"


# ----------------------------------------------------------------------------- the slips


def slips_for(
    kind: NoticeKind,
    key: str,
    *,
    petition_id: str,
    recipient: Person,
    owner: Person | None,
    level: int | None,
    note: str | None,
    accept_days: float,
    ask: str | None = None,
    also: Sequence[tuple[Person, str]] = (),
) -> list[Notice]:
    """The slips one step produces: one for the person it concerns and, for a reminder,
    supervision or overdue notice, a copy for the leader who owns the case (包案) unless that
    leader is the recipient already; before them, one for each of ``also`` (a person and the
    key of their copy) not told already, each person once (a vacant post falls to the bureau's
    dispatcher, who may be the recipient). The recipient's slip stays the step's last but for
    its owner's copy: the others are told, the recipient follows up."""

    def slip(slip_key: str, person: Person) -> Notice:
        if kind == NoticeKind.PETITIONER:
            text = petitioner_text(petition_id, note or "")
        else:
            text = notice_text(
                kind, petition_id, level, person, note, accept_days=accept_days, ask=ask
            )
        return Notice(key=slip_key, kind=kind, level=level, recipient=person, text=text)

    slips = [slip(key, recipient)]
    if owner is not None and owner.person_id != recipient.person_id and kind in OWNER_COPIED:
        slips.append(slip(f"{key}:owner", owner.model_copy(update={"role": Role.CASE_OWNER})))
    told = {n.recipient.person_id for n in slips}
    copies: list[Notice] = []
    for person, copy_key in also:
        if person.person_id not in told:
            told.add(person.person_id)
            copies.append(slip(copy_key, person))
    return copies + slips


def complete_chain_step(record: StepRecord, holder: Person, told: Sequence[Person]) -> StepRecord:
    """A chain step's record as it is written (``StepRecord.look_up``): its entry names
    ``holder``, who gets the slip (and becomes accountable, for an escalation), copied to
    ``told`` (the holders of ``look_up.told``, in that order); what the workflow had decided
    is kept as it was."""
    look_up = record.look_up
    assert look_up is not None, "only a chain step to complete"
    event = record.event.model_copy(
        update={"role": holder.role, "person_id": holder.person_id, "person_name": holder.name}
    )
    state = record.state
    if look_up.accountable:
        state = state.model_copy(update={"accountable": holder})
    notices = slips_for(
        look_up.notice,
        look_up.key,
        petition_id=state.id,
        recipient=holder,
        owner=state.owner,
        level=event.level,
        note=event.note,
        accept_days=look_up.accept_days,
        also=[(person, f"{look_up.key}:{person.role}") for person in told],
    )
    return record.model_copy(
        update={"state": state, "event": event, "notices": notices, "look_up": None}
    )
