"""The contracts every layer speaks: enums in the domain's words and the pydantic models that
cross process boundaries (API bodies, workflow inputs, activity inputs, query results)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.policy import EscalationPolicy
from domain.vocabulary import (
    Category,
    EventKind,
    NoticeKind,
    Role,
    Stage,
    Track,
)

PETITION_ID_PATTERN = r"^XF-\d{4}-\d{6}$"

# Activity names are the contract between workflows/ and activities/: the workflow refers to
# them by name so that it never imports the database layer into its sandbox.
FIND_ROLE_HOLDER = "find_role_holder"
RECORD_STEP = "record_step"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


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
    passed: bool = False


class Notice(Strict):
    """One slip for the outbox; ``key`` makes it exactly-once per petition and step."""

    key: str
    kind: NoticeKind
    level: int | None
    recipient: Person
    text: str


class PetitionStart(Strict):
    """Everything the workflow needs; no personal data (names, phones, content) on purpose:
    workflow histories and search attributes are not the place for it."""

    petition_id: str
    unit_id: str
    track: Track
    category: Category
    registered_at: datetime
    policy: EscalationPolicy


class PetitionState(Strict):
    """The live state of one petition, as the workflow holds it."""

    id: str
    unit_id: str
    track: Track
    category: Category
    stage: Stage
    level: int | None = None
    overdue: bool = False
    accountable: Person | None = None
    registered_at: datetime
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    reply: str | None = None
    policy_version: str
    deadlines: list[Deadline] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)


class AcceptRequest(Strict):
    """受理. ``handler_id`` names the case handler; by default the unit's first handler."""

    handler_id: str | None = Field(default=None, max_length=64)


class CompleteRequest(Strict):
    """办结 with the reply (答复意见) given to the petitioner."""

    reply: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


class RoleLookup(Strict):
    petition_id: str
    unit_id: str
    role: Role
    preferred_person_id: str | None = None


class StepRecord(Strict):
    """What one transition writes to the read model, in one transaction."""

    state: PetitionState
    event: TimelineEvent
    notice: Notice | None = None
