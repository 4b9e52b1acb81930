"""What a reader may see of a petition (the public view): one mapper from the intake record and
the live state, whether that state comes from the workflow (a query or an update's answer) or
from the read model's projection of it; the petitioner's contact details masked for readers
who need not reach them (domain.access)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.notice_schemas import NoticePublic
from api.schemas import (
    DocumentPublic,
    PetitionerPublic,
    PetitionPublic,
    PetitionSummary,
)
from domain.access import Principal, mask_id_number, mask_phone, sees_contact_details
from domain.contracts import Deadline, PetitionState, TimelineEvent
from domain.slips import document_number
from store.models import Document, Notice, Petition

# What the workflow decides and the read model projects, by the same names on both: the
# workflow's live state when it answers, else the read model's copy (at most one step behind).
STATE_FIELDS = frozenset(
    {
        "unit_id",
        "stage",
        "phase",
        "level",
        "overdue",
        "unaccepted_overdue",
        "accountable",
        "owner",
        "closure",
        "accepted_at",
        "completed_at",
        "reply",
        "rating",
        "extension",
        "uploaded",
        "deadlines",
        "policy_version",
    }
)
# Shown, but not columns of the intake record by these names.
_COMPOSED = frozenset({"petitioner", "timeline"})


def petitioner_public(row: Petition, reader: Principal) -> PetitionerPublic:
    """The petitioner's contact details, masked for readers who need not reach them."""
    id_number = row.petitioner_id_number
    if sees_contact_details(reader, row.unit_id, row.owner_id):
        return PetitionerPublic(
            name=row.petitioner_name, phone=row.petitioner_phone, id_number=id_number
        )
    return PetitionerPublic(
        name=row.petitioner_name,
        phone=mask_phone(row.petitioner_phone),
        id_number=mask_id_number(id_number) if id_number else None,
        masked=True,
    )


def petition_public(
    row: Petition,
    reader: Principal,
    live: PetitionState | None = None,
    timeline: Sequence[TimelineEvent] = (),
) -> PetitionPublic:
    """The intake record with the live state: ``live`` (and its timeline) when the workflow
    answered, else the read model's state and the projected ``timeline``."""
    state: PetitionState | Petition = row if live is None else live
    view: dict[str, Any] = {
        name: getattr(state if name in STATE_FIELDS else row, name)
        for name in PetitionPublic.model_fields
        if name not in _COMPOSED
    }
    view.update(
        petitioner=petitioner_public(row, reader),
        timeline=list(timeline if live is None else live.timeline),
    )
    # Whether a deadline has passed is computed as of now, whatever its last step said.
    view["deadlines"] = as_of_now(row.deadlines if live is None else live.deadlines)
    # from_attributes: the workflow's people (Person) become AccountablePublic by field name.
    return PetitionPublic.model_validate(view, from_attributes=True)


def as_of_now(deadlines: Sequence[dict[str, Any] | Deadline]) -> list[Deadline]:
    """The deadlines, each ``passed`` as of now: the projection and the workflow's state are
    written at a step, and a deadline may pass between steps."""
    now = datetime.now(UTC)
    return [
        d.model_copy(update={"passed": d.passed or d.due_at <= now})
        for d in (Deadline.model_validate(raw) for raw in deadlines)
    ]


def petition_summary(row: Petition) -> PetitionSummary:
    """A line of a list: the read model's row, every field by its own name."""
    return PetitionSummary.model_validate(row, from_attributes=True)


def notice_public(notice: Notice, prefix: str | None = None) -> NoticePublic:
    """A slip, with its number (文号) when the county's ``prefix`` is given."""
    public = NoticePublic.model_validate(notice, from_attributes=True)
    if prefix is not None:
        public.number = document_number(prefix, notice.kind, notice.serial_year, notice.serial)
    return public


def document_public(document: Document, prefix: str | None = None) -> DocumentPublic:
    public = DocumentPublic.model_validate(document, from_attributes=True)
    if prefix is not None:
        public.number = document_number(
            prefix, document.kind, document.serial_year, document.serial
        )
    return public
