"""A workflow step's projection into the read model's rows: the petition's columns, its reply
documents and its slips, as ``store.petitions.apply_step`` writes them one step at a time and the
simulator's fast mode (worker/simulate_fast.py) writes them in bulk: one definition for both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.contracts import Deadline, Notice, StepRecord, TimelineEvent
from domain.slips import REPLY_OPINION, numbered
from domain.vocabulary import EventKind, Phase


def projected(record: StepRecord, handling_overdue: bool | None, now: datetime) -> dict[str, Any]:
    """The petition's columns as ``record``'s step leaves them (``handling_overdue``: the row's
    before it); ``apply_step`` sets them, the simulator's fast mode writes them in bulk."""
    state = record.state
    columns: dict[str, Any] = {
        "stage": state.stage.value,
        "phase": state.phase.value,
        "unit_id": state.unit_id,
        "level": state.level,
        "overdue": state.overdue,
        "unaccepted_overdue": state.unaccepted_overdue,
    }
    if state.phase == Phase.HANDLING:  # the handling unit's books, kept through review
        columns["handling_unit_id"] = state.unit_id
        columns["handling_overdue"] = bool(handling_overdue) or state.overdue
    columns.update(
        accountable=_json(state.accountable),
        owner=_json(state.owner),
        owner_id=state.owner.person_id if state.owner else None,
        closure=state.closure.value if state.closure else None,
        rating=state.rating.value if state.rating else None,
        extension=_json(state.extension),
        uploaded=state.uploaded,
        assigned_at=state.assigned_at,
        accepted_at=state.accepted_at,
        completed_at=state.completed_at,
        reply=state.reply,
        policy_version=state.policy_version,
        deadlines=[d.model_dump(mode="json") for d in state.deadlines],
        next_due_at=min((d.due_at for d in state.deadlines if not d.passed), default=None),
        projected_seq=record.event.seq,
        updated_at=now,
        workflow_started=True,
    )
    return columns


def reply_opinions(record: StepRecord, new_events: list[TimelineEvent]) -> list[dict[str, Any]]:
    """答复意见书: a reply given is a numbered document, written once with its timeline entry."""
    state = record.state
    return [
        {
            "petition_id": state.id,
            "kind": REPLY_OPINION,
            "key": f"reply-{e.seq}",
            "text": e.note,
            "created_at": e.at,
            "details": {"unit_id": state.unit_id, "phase": state.phase.value},
        }
        for e in new_events
        if e.kind == EventKind.COMPLETED and e.note
    ]


def notice_row(
    petition_id: str, notice: Notice, now: datetime, slip_due: Deadline | None
) -> dict[str, Any]:
    """A slip's row as its step writes it (the slip's deadline on the numbered kinds)."""
    return {
        "petition_id": petition_id,
        "key": notice.key,
        "kind": notice.kind.value,
        "level": notice.level,
        "recipient_id": notice.recipient.person_id,
        "recipient_name": notice.recipient.name,
        "recipient_role": notice.recipient.role.value,
        "text": notice.text,
        "created_at": now,
        "deadline": _json(slip_due) if numbered(notice.kind) else None,
    }


def _json(model: BaseModel | None) -> dict[str, Any] | None:
    return model.model_dump(mode="json") if model is not None else None
