"""The contracts every layer speaks: enums in the domain's words and the pydantic models that
cross process boundaries (API bodies, workflow inputs, activity inputs, query results)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain.notice_delivery import StepWritten
from domain.plan import PlannedStep
from domain.policy import EscalationPolicy, PolicyBook
from domain.vocabulary import (
    Category,
    Channel,
    Closure,
    EventKind,
    NoticeKind,
    Phase,
    Rating,
    ReachedBy,
    Role,
    Stage,
    Track,
)

PETITION_ID_PATTERN = r"^XF-\d{4}-\d{6}$"

# Activity names are the contract between workflows/ and activities/: the workflow refers to
# them by name so that it never imports the database layer into its sandbox.
FIND_ROLE_HOLDER = "find_role_holder"
RECORD_STEP = "record_step"
RECORD_CHAIN_STEP = "record_chain_step"
PLAN_HANDLING = "plan_handling"
WRITE_ACCEPTANCE_NOTICE = "write_acceptance_notice"
UPLOAD_REPLY = "upload_reply"
WORKDAY_CALENDAR = "workday_calendar"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: str) -> str:
    """Tabs and line breaks are text; other control characters (NUL among them, which
    PostgreSQL cannot store) are refused rather than silently stripped."""
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed (tab and line breaks are)")
    return value


_NoControl = AfterValidator(_no_control_characters)


def _bounded(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


# Free-text fields: trimmed, bounded, no control characters (Chinese and emoji welcome).
Text = Annotated[str, _bounded(20000), _NoControl]
Summary = Annotated[str, _bounded(500), _NoControl]
PersonName = Annotated[str, _bounded(100), _NoControl]
Title = Annotated[str, _bounded(200), _NoControl]  # a person's title (职务) or a unit's name
Reason = Annotated[str, _bounded(2000), _NoControl]
Note = Annotated[str, _bounded(2000, min_length=0), _NoControl]


class Strict(BaseModel):
    """Unknown fields are refused: a typo in a request must not be silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Person(Strict):
    """Someone holding a post at the moment of a step."""

    person_id: str
    name: str
    title: str
    role: Role
    unit_id: str
    note: str | None = None


class TimelineEvent(Strict):
    seq: int
    at: datetime
    kind: EventKind
    level: int | None = None
    role: Role | None = None
    person_id: str | None = None
    person_name: str | None = None
    note: str | None = None


class Deadline(Strict):
    """A pending or passed moment of the petition's clock, with the reason it exists."""

    kind: str
    level: int | None = None
    due_at: datetime
    description: str
    reason: str = ""  # the rule and its source, how days were counted, extensions
    passed: bool = False


class Notice(Strict):
    """One slip for the outbox; ``key`` makes it exactly-once per petition and step."""

    key: str
    kind: NoticeKind
    level: int | None
    recipient: Person
    text: str


class Intake(Strict):
    """The intake record (登记) as registered, so the read model can be rebuilt from Temporal
    after a database loss. What the workflow input holds already (unit, track, category,
    registration time, policy book) is not repeated here."""

    channel: Channel
    petitioner_name: str
    petitioner_phone: str
    petitioner_id_number: str | None = None
    persons: int
    summary: str
    content: str
    repeat_of: str | None = None
    repeat_rule: str | None = None
    new_facts: str | None = None
    # What the reports count (issue 13): absent in workflows started before, the defaults.
    destination_level: str = "county"
    first_time: bool = True
    key_petitioner: bool = False


class PetitionStart(Strict):
    """Everything the workflow needs. The personal data (names, phones, content) rides along in
    ``intake`` only to be recovered by the rebuild: the workflow never reads it, and it is
    encrypted in Temporal by the payload codec (core/codec.py). Workflow ids and search
    attributes carry none of it: they are not encrypted."""

    petition_id: str
    # None: registered at the bureau, waiting for a dispatcher to assign a unit (交办).
    unit_id: str | None
    track: Track
    category: Category
    registered_at: datetime
    # The policy for the unit it was registered to, and the whole book it came from, so that an
    # assignment or a transfer resolves the new unit's policy from the same version.
    policy: EscalationPolicy
    policy_book: PolicyBook | None = None
    # The next levels up that review (复查) and re-review (复核) the reply.
    review_units: list[str] = Field(default_factory=lambda: ["county-review", "city-review"])
    # None in workflows started before the intake travelled with them.
    intake: Intake | None = None
    # The terminated petition (三级终结) this one repeats with no new facts and reasons: it is
    # declined at once (不予受理), the petitioner told why (domain.lifecycle.terminated_repeat).
    terminated_repeat_of: str | None = None


class Extension(Strict):
    """延期: asked by the handler, decided by the unit head, at most once per round."""

    days: int
    reason: str
    requested_at: datetime
    approved: bool | None = None  # None while pending
    approver: Person | None = None
    decided_at: datetime | None = None
    note: str | None = None


class PetitionState(Strict):
    """The live state of one petition, as the workflow holds it."""

    id: str
    unit_id: str | None
    track: Track
    category: Category
    stage: Stage
    phase: Phase = Phase.HANDLING
    level: int | None = None
    overdue: bool = False
    # 逾期未受理: the statutory limit to decide on acceptance passed with the petition still
    # waiting at the unit (a fact of its record: it stays once set).
    unaccepted_overdue: bool = False
    accountable: Person | None = None
    owner: Person | None = None  # 包案领导
    registered_at: datetime
    assigned_at: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    reply: str | None = None
    uploaded: bool = False
    rating: Rating | None = None
    rating_comment: str | None = None
    closure: Closure | None = None
    extension: Extension | None = None
    policy_version: str
    deadlines: list[Deadline] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)


class AcceptRequest(Strict):
    """受理. ``handler_id`` names the case handler; by default the unit's first handler."""

    handler_id: str | None = Field(default=None, max_length=64)


class CompleteRequest(Strict):
    """办结: record the reply (答复意见); every reminder and escalation stops, the reply is
    uploaded to the upper-level system and the revisit (回访) window opens."""

    reply: Text


class AssignRequest(Strict):
    """交办: the bureau hands a registered petition to a responsible unit."""

    unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TransferRequest(Strict):
    """转办: the unit passes the petition to another unit; that unit's clock starts afresh."""

    unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: Reason


class DeclineRequest(Strict):
    """不予受理, with the reason and the legal basis; the petitioner is told in writing."""

    reason: Reason
    legal_basis: Reason


class OnBehalf(Strict):
    """Recorded by the bureau for the petitioner (代为记录): how they were reached, and the
    dispatcher who recorded it (resolved by the API). None only in requests from before
    issue 10; since then the workflow refuses a request without both (``domain.access``)."""

    reached_by: ReachedBy | None = None
    recorded_by: Person | None = None


class WithdrawRequest(OnBehalf):
    """撤回 by the petitioner: the chain ends with the reason."""

    reason: Reason


class ExtensionRequest(Strict):
    """延期申请 by the handler, with the reason; at most once, at most the policy's cap."""

    days: int = Field(ge=1, le=365, description="capped by the policy (statutory 30)")
    reason: Reason


class ExtensionDecision(Strict):
    """The unit head's decision; ``approver`` is resolved by the API from the directory."""

    approve: bool
    approver: Person
    note: Note | None = None


class RateRequest(OnBehalf):
    """回访: the petitioner's rating (satisfied / basically_satisfied / dissatisfied)."""

    rating: Rating
    comment: Note | None = None


class ReviewRequest(Strict):
    """申请复查 (then 复核) within the window after the reply: the next level up handles it
    with its own deadline, reminders and escalation. After 复核 the matter is final."""

    reason: Reason


class OwnerRequest(Strict):
    """领导包案: ``owner`` is resolved by the API from the directory."""

    owner: Person


class PlanRequest(Strict):
    """Input of the plan activity: deadlines may count working days (a calendar lookup)."""

    policy: EscalationPolicy
    track: Track
    phase: Phase
    accepted_at: datetime
    extension_days: int = 0
    extension_note: str | None = None
    extended_at: datetime | None = None


class AcceptanceNotice(Strict):
    """Input of the 四告知 activity: what the petitioner is told in writing at acceptance."""

    petition_id: str
    unit_id: str
    accepted_at: datetime
    deadline: datetime
    deadline_reason: str = ""
    # The leader the petitioner is told of; None since the patch ``leader-found-by-writer``
    # (issue 9) when no leader owns the case: the writer names the unit's supervising leader
    # as the directory has them, so the acceptance does not wait for that lookup.
    leader: Person | None = None
    handler: Person
    phase: Phase = Phase.HANDLING
    # Whether ``leader`` owns the case (包案领导) or is the unit's leader in charge; None in
    # notices decided before it was said (the intake record's owner tells then).
    leader_owns_case: bool | None = None


class UploadRequest(Strict):
    petition_id: str
    phase: Phase
    replied_at: datetime
    reply: str


class RoleLookup(Strict):
    petition_id: str
    unit_id: str
    role: Role
    preferred_person_id: str | None = None
    # The post at the bureau (信访局) rather than at the petition's unit: its chief, say.
    at_bureau: bool = False


class CalendarRequest(Strict):
    """Input of the calendar lookup: the working days of ``years`` years from ``first_year``,
    for the intake and aftercare windows of a unit that counts working days."""

    first_year: int
    years: int = 3


class PlannedSteps(Strict):
    steps: list[PlannedStep]


class ChainLookup(Strict):
    """A chain step (催办, 督办, 逾期) whose recording activity looks up who holds the posts and
    words the slips (since the patch ``chain-step-one-activity``): one local activity a step,
    not a lookup and then a record. Its ``event`` comes without a person; the activity names
    the holder of ``role`` on it and on the slip (copied to the case owner, 包案, as every
    chain slip is), copies the slip to the holders of ``told`` (each under ``<key>:<role>``),
    and with ``accountable`` makes the holder the state's accountable person (an escalation:
    the chain climbs)."""

    role: Role
    told: list[Role] = Field(default_factory=list)
    notice: NoticeKind
    key: str
    accept_days: float
    accountable: bool = False


class StepRecord(Strict):
    """What one transition writes to the read model, in one transaction: the petition's state
    after it, its timeline entry, and its slips. Since v3 the state comes without its timeline,
    and steps decided together travel together (``earlier`` holds the entries before
    ``event``); before, the state carried the whole timeline."""

    state: PetitionState
    event: TimelineEvent
    notices: list[Notice] = Field(default_factory=list)
    earlier: list[TimelineEvent] = Field(default_factory=list)
    # Written documents decided with these steps (the 四告知 notice), after them.
    documents: list[AcceptanceNotice] = Field(default_factory=list)
    # The planned moment of each escalation step among them (催办, 督办, 逾期), by its entry's
    # ``seq``: the escalation-lag metric counts from it. The entry's ``at`` is when the workflow
    # took the step, which a worker that is behind takes late. Empty in records of before.
    planned: dict[int, datetime] = Field(default_factory=dict)
    # The workflow delivers the notices itself (the patch ``deliveries-in-workflow``): answer
    # with their routes (domain.notice_delivery.StepWritten) instead of starting deliveries.
    routes_back: bool = False
    # The patch ``deliveries-outboxed``: the notices written marked for the notices' process,
    # which routes and sends them (the outbox); the answer holds only what the workflow still
    # waits for (the 签收 of a 督办单).
    outboxed: bool = False
    # The patch ``signatures-watched-in-outbox``: the 督办单 written keep the moment they must be
    # signed for by, and the notices' process writes the 催办; the answer holds no 签收 wait.
    signing_watched: bool = False
    # A chain step to complete first (``ChainLookup``); None in the record the activity wrote.
    look_up: ChainLookup | None = None


class ChainStepWritten(Strict):
    """``record_chain_step``'s answer: ``record_step``'s (``written``: None when the record asked
    for no routes), and the record itself. The chain's steps (and since v12 the other steps
    nobody waits for) are written by a local activity, whose input the history does not keep
    but whose answer it does (its marker): the rebuild (``worker.rebuild``) reads those steps
    from there."""

    record: StepRecord
    written: StepWritten | None = None
