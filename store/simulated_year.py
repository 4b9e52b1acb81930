"""Writing a simulated county year in bulk (the simulator's fast mode, worker/simulate_fast.py):
each petition's steps, as its workflow recorded them, folded the way ``store.petitions.
apply_step`` applies them one by one — the newest state wins, every timeline entry and slip once,
the 答复意见书 with its entry, the 四告知 once per round — through the same column definitions
(store/projection.py), and inserted a few thousand rows per statement in one transaction.
Slips are stamped with their step's moment (what ``record_step`` writes in production, where
it runs as the step happens); the yearly numbers (文号) follow in the order of those moments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.contracts import AcceptanceNotice, Person, StepRecord
from domain.slips import ACCEPTANCE_NOTICE, numbered, slip_deadline
from store import directory
from store.models import Document, Notice, Petition, TimelineEvent
from store.projection import notice_row, projected, reply_opinions
from store.transplant import BATCH, Renumbering

Steps = list[tuple[StepRecord, datetime]]  # a petition's steps, each with its moment
# The 四告知's text from its notice, the intake row, the unit's name and the handler's phone
# (activities.petition.acceptance_text, as ``write_acceptance_notice`` renders it).
Render = Callable[[AcceptanceNotice, dict[str, Any], str, str | None], str]


class Folded:
    """Rows of the year, gathered petition by petition (plain dicts: a process playing part of
    the year hands them to the one that writes)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []
        self.accepted: list[tuple[dict[str, Any], AcceptanceNotice]] = []

    def fold(self, row: dict[str, Any], steps: Steps) -> None:
        """``row`` (the intake record) brought up to its last step, the others gathered."""
        self.rows.append(row)
        pid = row["id"]
        have: set[int] = set()
        seen: set[str] = set()
        documents: set[str] = set()
        for record, at in steps:
            state, event = record.state, record.event
            for told in record.documents:  # 四告知, once per round (save_document's key)
                if (key := f"acceptance-{told.phase}") not in documents:
                    documents.add(key)
                    self.accepted.append((row, told))
            if event.seq >= row["projected_seq"]:
                row.update(projected(record, row.get("handling_overdue", False), at))
            events = {e.seq: e for e in (*state.timeline, *record.earlier, event)}
            new = [e for seq, e in sorted(events.items()) if seq <= event.seq and seq not in have]
            have.update(e.seq for e in new)
            self.events += [{"petition_id": pid, **e.model_dump()} for e in new]
            self.documents += reply_opinions(record, new)
            slip_due = slip_deadline(state.deadlines, event.at)
            for notice in record.notices:
                if notice.key not in seen:
                    seen.add(notice.key)
                    self.notices.append(notice_row(pid, notice, at, slip_due))

    async def render_acceptances(self, session: AsyncSession, render: Render) -> None:
        """The 四告知's texts, from the directory as ``write_acceptance_notice`` reads it."""
        names: dict[str, str] = {}
        phones: dict[str, str | None] = {}
        leaders: dict[str, Person] = {}
        for row, notice in self.accepted:
            if notice.leader is None:  # the patch leader-found-by-writer: as the writer finds it
                if notice.unit_id not in leaders:
                    leaders[notice.unit_id] = await directory.supervising_leader(
                        session, notice.petition_id, notice.unit_id
                    )
                notice = notice.model_copy(update={"leader": leaders[notice.unit_id]})
            if notice.unit_id not in names:
                unit = await directory.get_unit(session, notice.unit_id)
                names[notice.unit_id] = unit.name if unit else notice.unit_id
            handler = notice.handler.person_id
            if handler not in phones:
                phones[handler] = await directory.phone_of(session, handler)
            text = render(notice, row, names[notice.unit_id], phones[handler])
            self.documents.append(
                {
                    "petition_id": notice.petition_id,
                    "kind": ACCEPTANCE_NOTICE,
                    "key": f"acceptance-{notice.phase}",
                    "text": text,
                    "created_at": notice.accepted_at,
                    "details": None,
                }
            )
        self.accepted = []


def _numbered(rows: list[dict[str, Any]], renumber: Renumbering) -> list[dict[str, Any]]:
    """In the order they were issued, each numbered kind's 文号 taken from the counters."""
    rows.sort(key=lambda r: r["created_at"])
    for row in rows:
        row["serial_year"] = row["serial"] = None
        if numbered(row["kind"]):
            row["serial_year"], row["serial"] = renumber.serial(row["kind"], row["created_at"])
    return rows


async def _insert(session: AsyncSession, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Rows of the same columns together (a column left out keeps its default)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for batch in shapes.values():
        for start in range(0, len(batch), BATCH):
            await session.execute(insert(table), batch[start : start + BATCH])


def fold_year(rows: list[dict[str, Any]], steps: Mapping[str, Steps]) -> Folded:
    """The petitions ``rows`` (intake records, numbered already) with their ``steps``."""
    folded = Folded()
    for row in rows:
        folded.fold(row, steps.get(row["id"], []))
    return folded


async def write_year(session: AsyncSession, parts: list[Folded], renumber: Renumbering) -> None:
    """Write the parts of the year (their 四告知 rendered) and the counters ``renumber``
    advanced, the 文号 taken in the order of issue across the parts; commits once."""
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Petition, [row for part in parts for row in part.rows]),
        (TimelineEvent, [row for part in parts for row in part.events]),
        (Notice, _numbered([row for part in parts for row in part.notices], renumber)),
        (Document, _numbered([row for part in parts for row in part.documents], renumber)),
    ]
    for model, table_rows in tables:
        await _insert(session, model.__table__, table_rows)
    await renumber.save(session)
    await session.commit()
