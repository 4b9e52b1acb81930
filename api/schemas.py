"""Public HTTP contracts (``XCreate`` in, ``XPublic`` out). Strict: unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.contracts import (
    Deadline,
    Extension,
    Note,
    PersonName,
    Reason,
    Summary,
    Text,
    TimelineEvent,
    Title,
)
from domain.report_rules import DestinationLevel
from domain.vocabulary import (
    Category,
    Channel,
    Closure,
    Phase,
    Rating,
    ReachedBy,
    Role,
    Stage,
    Track,
    UnitKind,
)

Name = PersonName
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9\- ]{4,30}$")
]

IdNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^(\d{15}|\d{17}[\dXx])$")
]

# Far beyond any list (a county has ~10^4 petitions a year), and within every database's
# integers: an offset of 10^22 used to overflow SQLite into a 500.
MAX_OFFSET = 10**9
# The largest row id a path may name: ids are 32-bit on PostgreSQL, and anything beyond
# SQLite's 64 bits used to overflow into a 500.
MAX_ROW_ID = 2**31 - 1


# Ids of units and people, and usernames: what URLs, tokens and the YAML directory carry.
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
]


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PetitionerIn(StrictIn):
    name: Name = Field(description="信访人姓名")
    phone: Phone = Field(description="联系电话, e.g. 13800138000 or 0558-6120101")
    id_number: IdNumber | None = Field(
        default=None, description="身份证号 (18 digits, the last may be X; or the old 15 digits)"
    )


class PetitionCreate(StrictIn):
    """登记: what the intake clerk records."""

    channel: Channel
    petitioner: PetitionerIn
    persons: int = Field(ge=1, le=10000, description="人次: people in the visit (≥ 5 is 集体访)")
    category: Category
    summary: Summary
    content: Text
    unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="the responsible unit (责任单位), from GET /api/v1/units; leave it out to "
        "register at the bureau and assign (交办) later",
    )
    track: Track = Field(description="simple (简易, 7 days) or general (一般, 30 days)")
    new_facts: Reason | None = Field(
        default=None,
        description="新的事实和理由: what is new in a matter terminated after re-review "
        "(三级终结); without it, a repeat of a terminated matter is declined (不予受理)",
    )
    # What the reports count (issue 13); left out, a first petition to the county bureau.
    destination_level: DestinationLevel = Field(
        default=DestinationLevel.COUNTY,
        description="where a visit went: county (到县访), city (到市访), province (赴省访) or "
        "beijing (进京访); above the county it is a 越级访",
    )
    first_time: bool = Field(default=True, description="初信初访 (false: a 重复信访)")
    key_petitioner: bool = Field(default=False, description="重点信访人")


class UnitPublic(BaseModel):
    id: str
    name: str
    kind: UnitKind


class PostPublic(BaseModel):
    unit_id: str
    role: Role


class PersonPublic(BaseModel):
    """Someone in the org directory, with the posts they hold now."""

    id: str = Field(description="the id the API's handler_id, approver_id and person_id take")
    name: str
    title: str
    phone: str | None = Field(description="office phone (办公电话)")
    username: str | None
    posts: list[PostPublic]
    # An integration's service account (服务账号): its role, no post; API keys act as one only.
    service_role: Role | None = None


class PetitionerPublic(BaseModel):
    """The petitioner's contact details; masked (138****8000) for readers who do not need
    them (county principal leaders, auditors)."""

    name: str
    phone: str
    id_number: str | None = None
    masked: bool = False


class AccountablePublic(BaseModel):
    """Who answers for the petition now."""

    role: Role
    person_id: str
    name: str
    title: str


class PetitionSummary(BaseModel):
    id: str = Field(description="petition number (信访件编号), e.g. XF-2026-000123")
    channel: Channel
    category: Category
    track: Track
    unit_id: str | None
    summary: str
    stage: Stage
    phase: Phase = Field(description="handling (办理), review (复查) or re_review (复核)")
    level: int | None = Field(description="1–4 once handling: the chain level accountable")
    overdue: bool
    unaccepted_overdue: bool = Field(
        description="逾期未受理: left unaccepted past the statutory limit to decide (15 days)"
    )
    accountable: AccountablePublic | None
    owner: AccountablePublic | None = Field(description="领导包案: the leader owning the case")
    closure: Closure | None
    repeat_of: str | None = Field(description="重复件: the terminated petition it repeats")
    repeat_rule: str | None = Field(
        default=None,
        description="which rule matched the repeat: id_number+category (身份证号) or "
        "phone+category",
    )
    handling_unit_id: str | None = Field(
        default=None,
        description="the unit that handled the first round (办理); during 复查/复核 ``unit_id`` "
        "is the review body and this stays the handling unit",
    )
    registered_at: datetime
    accepted_at: datetime | None
    completed_at: datetime | None


class PetitionPublic(PetitionSummary):
    persons: int
    content: str
    new_facts: str | None = None
    petitioner: PetitionerPublic
    reply: str | None
    rating: Rating | None
    extension: Extension | None
    uploaded: bool
    policy_version: str
    deadlines: list[Deadline] = Field(
        description="every deadline of the petition, passed or pending, each with its reason"
    )
    timeline: list[TimelineEvent]


class PetitionPage(BaseModel):
    items: list[PetitionSummary]
    total: int
    limit: int
    offset: int


class ErrorPublic(BaseModel):
    detail: str


class PendingDetail(BaseModel):
    status: str = Field(examples=["pending"])
    action_id: str = Field(description="the action's id (the Temporal update id)")
    outcome: str = Field(description="where to read the outcome (also the Location header)")
    message: str


class PendingPublic(BaseModel):
    """An action handed to the workflow whose answer did not come in time (202)."""

    detail: PendingDetail


class DocumentPublic(BaseModel):
    id: int
    number: str | None = None  # 文号, as on the slips
    kind: str
    key: str
    text: str
    created_at: datetime


class AssignIn(StrictIn):
    """交办: the bureau hands a registered petition to a responsible unit."""

    unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TransferIn(AssignIn):
    """转办 to another unit with a reason: the new unit's clock starts afresh."""

    reason: Reason


class ExtensionDecisionIn(StrictIn):
    approve: bool
    approver_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="the unit head deciding (单位主要领导); optional, as it is the signed-in user",
    )
    note: Note | None = None


class OwnerIn(StrictIn):
    """领导包案: a leader owns the case and receives every reminder and supervision notice."""

    person_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="a leader (supervising leader, unit head, county contact or county principal "
        "leader) owning the case"
    )


class OnBehalfIn(StrictIn):
    """Recorded by the bureau on the petitioner's behalf, never by the unit being supervised."""

    reached_by: ReachedBy = Field(description="how the petitioner was reached: phone, visit, …")


class RateIn(OnBehalfIn):
    """回访: the petitioner's rating (satisfied / basically_satisfied / dissatisfied), recorded
    by the bureau for them."""

    rating: Rating
    comment: Note | None = None


class WithdrawIn(OnBehalfIn):
    """撤回 by the petitioner, recorded by the bureau for them: the chain ends with the reason."""

    reason: Reason


class UnitCreate(StrictIn):
    """A new unit (责任单位); its posts are appointed with POST /api/v1/posts."""

    id: Identifier = Field(description="short id, e.g. nanshan (letters, digits, - _ .)")
    name: Title = Field(description="e.g. 南山镇人民政府")
    kind: UnitKind


class PersonCreate(StrictIn):
    """Someone new in the directory, without a post and without a password yet."""

    id: Identifier = Field(description="short id, e.g. nanshan-head")
    name: Name = Field(description="姓名")
    title: Title = Field(description="职务, e.g. 南山镇党委书记")
    phone: Phone | None = Field(default=None, description="office phone (办公电话)")
    username: Identifier | None = Field(
        default=None, description="the sign-in name; none: this person cannot sign in"
    )


class PersonUpdate(StrictIn):
    """Only the fields sent change; ``phone`` and ``username`` may be set to null."""

    name: Name | None = None
    title: Title | None = None
    phone: Phone | None = None
    username: Identifier | None = None

    @field_validator("name", "title")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Everyone has a name and a title; leave the field out to keep it.
        if value is None:
            raise ValueError("may not be null: leave it out to keep it")
        return value


class PasswordIn(StrictIn):
    password: str = Field(
        min_length=1, max_length=1000, description="at least 8 characters; never 'demo'"
    )


class AppointIn(StrictIn):
    """任命: ``person_id`` takes ``role`` at ``unit_id``; a unit's head, supervising leader or
    county contact leader is replaced (the holder's term ends now)."""

    unit_id: Identifier
    role: Role
    person_id: Identifier


class PostTermPublic(BaseModel):
    """One term of office (任职): who held which post from when to when."""

    id: int = Field(description="the term id: POST /api/v1/posts/{id}/end ends it")
    unit_id: str
    role: Role
    person_id: str
    person_name: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the person holds the post")


class AppointmentPublic(BaseModel):
    term: PostTermPublic = Field(description="the new term")
    ended: list[PostTermPublic] = Field(description="the terms the appointment ended (换人)")


# Sign-in (登录) and the integrations' API keys (系统对接).
class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type)
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class MePublic(BaseModel):
    person_id: str
    username: str
    name: str
    role: Role | None = Field(description="the widest post held")
    posts: list[PostPublic]
    reads_all: bool
    units: list[str] = Field(description="the units whose petitions this person acts on")
    via: str


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="the integration, e.g. 12345热线")
    person_id: str = Field(
        min_length=1,
        max_length=64,
        description="the integration's service account (服务账号: see GET /api/v1/people, "
        "service_role), never a person",
    )


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    person_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    issued_by: str | None = Field(default=None, description="who issued it (username)")


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="shown once: only its hash is kept")
