"""The bodies and answers of the reports' endpoints (issue 13): a leader's reception day, a
day of the AB-post roster, a 专报 mark."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Identifier as PersonId
from domain.contracts import Summary
from domain.report_rules import SpecialKind

Count = Annotated[int, Field(ge=0, le=100000)]


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceptionIn(StrictIn):
    """领导接访: one reception day of a leader."""

    leader_id: PersonId = Field(description="the leader who received (GET /api/v1/people)")
    day: date = Field(description="the Beijing date of the reception")
    persons: Count = Field(description="接访人次: people received")
    petitions: Count = Field(description="信访事项 registered from it")
    signed_instructions: Count = Field(description="签批件次: cases the leader signed")
    note: Summary | None = None


class ReceptionPublic(ReceptionIn):
    id: int
    leader_name: str
    recorded_by: str
    recorded_at: datetime


class DutyIn(StrictIn):
    """接访AB岗: who is on post A that day, and who stands in on post B."""

    a_person_id: PersonId
    b_person_id: PersonId


class DutyPublic(DutyIn):
    day: date
    a_name: str
    b_name: str
    recorded_by: str


class SpecialIn(StrictIn):
    """专报: why this petition goes to the county's principal leaders at once."""

    kind: SpecialKind = Field(
        description="beijing (进京访), threat (扬言), extreme (极端), unstable"
    )
    reason: Summary


class SpecialPublic(BaseModel):
    id: int
    petition_id: str
    kind: SpecialKind
    reason: str
    marked_by: str
    marked_at: datetime
    notified: list[str] = Field(description="the principal leaders whose inbox has it")
