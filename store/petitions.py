"""Petition rows: intake with idempotency, numbering, projection of workflow steps, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.contracts import PetitionStart, StepRecord
from domain.lifecycle import terminated_repeat
from domain.slips import (
    ACCEPTANCE_NOTICE,
    number_year,
    slip_deadline,
)
from store import numbering
from store.models import (
    Document,
    IdempotencyKey,
    Notice,
    Petition,
    PetitionCounter,
    TimelineEvent,
)
from store.projection import notice_row, projected, reply_opinions

# Petition numbers follow the bureau's calendar year in Beijing time (no DST: a fixed offset).
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different request."""


@dataclass(frozen=True)
class Registration:
    petition: Petition
    created: bool


async def _next_number(session: AsyncSession, now: datetime) -> str:
    year = now.astimezone(BEIJING).year
    number = await _bump(session, year)
    if number is None:
        # The first petition of the year: create the counter. Two first registrations at once
        # (PostgreSQL) both try; the loser's savepoint rolls back and it takes the next number.
        try:
            async with session.begin_nested():
                session.add(PetitionCounter(year=year, last=0))
        except IntegrityError:
            pass  # the other registration created it a moment ago
        number = await _bump(session, year)
        assert number is not None
    return f"XF-{year}-{number:06d}"


async def _bump(session: AsyncSession, year: int) -> int | None:
    # UPDATE … RETURNING takes the row lock at once, so two registrations never get one number.
    result = await session.execute(
        update(PetitionCounter)
        .where(PetitionCounter.year == year)
        .values(last=PetitionCounter.last + 1)
        .returning(PetitionCounter.last)
    )
    number: int | None = result.scalar_one_or_none()
    return number


async def register(
    session: AsyncSession,
    *,
    intake: dict[str, Any],
    now: datetime,
    policy: dict[str, Any],
    policy_version: str,
    idempotency_key: str | None,
    fingerprint: str,
) -> Registration:
    """Write the intake record (登记) and, with a key, remember which petition it made.

    A key seen before returns the petition it made; a key seen with a different body is refused.
    """
    if idempotency_key is not None:
        earlier = await _registered_with(session, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    number = await _next_number(session, now)
    petition = Petition(**intake_row(number, intake, now, policy, policy_version))
    session.add(petition)
    if idempotency_key is not None:
        await session.flush()
        session.add(
            IdempotencyKey(
                key=idempotency_key,
                petition_id=petition.id,
                fingerprint=fingerprint,
                created_at=now,
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        # The same key sent at once by a retrying client (PostgreSQL lets both transactions
        # look and miss): the one that committed first made the petition, this is its replay.
        await session.rollback()
        earlier = await _registered_with(session, idempotency_key, fingerprint)
        if earlier is None:
            raise
        return earlier
    return Registration(petition, created=True)


def intake_row(
    number: str, intake: dict[str, Any], now: datetime, policy: dict[str, Any], policy_version: str
) -> dict[str, Any]:
    """The intake record's columns as registered (登记): also what the simulator's fast mode
    writes in bulk (worker/simulate_fast.py)."""
    # A repeat of a terminated matter (三级终结) without new facts is declined from the start
    # (its workflow records the 不予受理 and tells the petitioner).
    declined = terminated_repeat(intake.get("repeat_of"), intake.get("new_facts")) is not None
    return dict(
        id=number,
        registered_at=now,
        policy_version=policy_version,
        policy=policy,
        stage="declined" if declined else "assigned" if intake.get("unit_id") else "registered",
        closure="declined" if declined else None,
        handling_unit_id=intake.get("unit_id"),
        level=None,
        overdue=False,
        deadlines=[],
        projected_seq=0,
        updated_at=now,
        workflow_started=False,
        **intake,
    )


async def _registered_with(
    session: AsyncSession, key: str | None, fingerprint: str
) -> Registration | None:
    """The registration an Idempotency-Key made already; IdempotencyConflict for another body."""
    seen = await session.get(IdempotencyKey, key) if key is not None else None
    if seen is None:
        return None
    if seen.fingerprint != fingerprint:
        raise IdempotencyConflict(seen.key)
    petition = await session.get(Petition, seen.petition_id)
    assert petition is not None  # a foreign key holds it
    return Registration(petition, created=False)


# What an intake restored from a workflow started before the intake travelled with it shows:
# the petitioner's details must be entered again from the paper record.
NOT_RESTORED = "（未能从 Temporal 恢复，请据原始登记材料补录）"


async def restore_intake(session: AsyncSession, start: PetitionStart) -> bool:
    """Write the intake record (登记) of a petition from its workflow input, unless the row is
    there; True when written (not committed). Without ``start.intake`` (workflows started
    before it travelled along) the petitioner's details are placeholders saying so.

    The projection columns start as at registration; the petition's steps fill them in."""
    if await session.get(Petition, start.petition_id) is not None:
        return False
    intake = start.intake
    book = start.policy_book.model_dump(mode="json") if start.policy_book else None
    session.add(
        Petition(
            id=start.petition_id,
            channel=intake.channel.value if intake else "letter",
            petitioner_name=intake.petitioner_name if intake else NOT_RESTORED,
            petitioner_phone=intake.petitioner_phone if intake else "",
            petitioner_id_number=intake.petitioner_id_number if intake else None,
            persons=intake.persons if intake else 1,
            category=start.category.value,
            summary=intake.summary if intake else NOT_RESTORED,
            content=intake.content if intake else NOT_RESTORED,
            unit_id=start.unit_id,
            track=start.track.value,
            registered_at=start.registered_at,
            policy_version=start.policy.version,
            policy={"book": book, "day_seconds": start.policy.day_seconds},
            repeat_of=intake.repeat_of if intake else None,
            repeat_rule=intake.repeat_rule if intake else None,
            new_facts=intake.new_facts if intake else None,
            destination_level=intake.destination_level if intake else "county",
            first_time=intake.first_time if intake else True,
            key_petitioner=intake.key_petitioner if intake else False,
            workflow_started=True,
            stage="assigned" if start.unit_id else "registered",
            level=None,
            overdue=False,
            deadlines=[],
            projected_seq=0,
            updated_at=start.registered_at,
        )
    )
    await _count_at_least(session, start.petition_id)
    await session.flush()
    return True


async def _count_at_least(session: AsyncSession, petition_id: str) -> None:
    """Make the year's counter at least this petition's number, so that a registration after a
    rebuild never takes a number a restored petition (and its workflow) has."""
    _, year_text, number_text = petition_id.split("-")
    year, number = int(year_text), int(number_text)
    if await session.get(PetitionCounter, year) is None:
        session.add(PetitionCounter(year=year, last=number))
        return
    # One statement, so a registration taking a number meanwhile is neither lost nor undone.
    await session.execute(
        update(PetitionCounter)
        .where(PetitionCounter.year == year, PetitionCounter.last < number)
        .values(last=number)
    )


async def terminated_matter(
    session: AsyncSession, *, phone: str, category: str, id_number: str | None = None
) -> str | None:
    """The newest petition of this petitioner on a matter of this category that was closed for
    good after re-review (三级终结): a new one on it is a repeat (重复件)."""
    found = await repeat_match(session, phone=phone, category=category, id_number=id_number)
    return found[0] if found else None


async def repeat_match(
    session: AsyncSession, *, phone: str, category: str, id_number: str | None = None
) -> tuple[str, str] | None:
    """The terminated petition (三级终结) a new one repeats, and the rule that matched: the
    petitioner's ID number (身份证号) when given, else their phone, with the category. A phone
    match never crosses two different ID numbers (a shared family phone)."""
    rules: list[tuple[str, list[ColumnElement[bool]]]] = []
    if id_number:
        rules.append(("id_number+category", [Petition.petitioner_id_number == id_number]))
    same_person = [Petition.petitioner_phone == phone]
    if id_number:
        same_person.append(
            or_(Petition.petitioner_id_number.is_(None), Petition.petitioner_id_number == id_number)
        )
    rules.append(("phone+category", same_person))
    for rule, conditions in rules:
        found: str | None = await session.scalar(
            select(Petition.id)
            .where(*conditions, Petition.category == category, Petition.closure == "terminated")
            .order_by(Petition.registered_at.desc())
            .limit(1)
        )
        if found is not None:
            return found, rule
    return None


async def mark_started(session: AsyncSession, petition_id: str) -> None:
    await session.execute(
        update(Petition).where(Petition.id == petition_id).values(workflow_started=True)
    )
    await session.commit()


async def not_started(session: AsyncSession) -> list[Petition]:
    """Petitions registered whose workflow was never confirmed started (a crash in between)."""
    rows = await session.scalars(select(Petition).where(Petition.workflow_started.is_(False)))
    return list(rows)


async def project(
    session: AsyncSession, record: StepRecord, now: datetime, *, to_route: bool = False
) -> set[str]:
    """Apply one workflow step to the read model, idempotently.

    Returns the keys of the notices this call wrote (none when a retry finds them written), so
    the caller logs each notice once. A concurrent duplicate raises IntegrityError: the
    activity is retried and then finds everything written.
    """
    written = await apply_step(session, record, now, to_route=to_route)
    await session.commit()
    return written


async def apply_step(
    session: AsyncSession, record: StepRecord, now: datetime, *, to_route: bool = False
) -> set[str]:
    """``project`` without the commit: the rebuild applies a petition's steps in one go.
    ``to_route``: the new notices are the outbox's (patch deliveries-outboxed), for the notices'
    process to route and send; never for the rebuild, which must send nothing again."""
    state, event = record.state, record.event
    # Locked for the transaction: since v3 a petition's steps are written by activities that
    # may run at once, and the newest state must win whichever commits last (on PostgreSQL,
    # without the lock, an older step committing later overwrote a newer one; on SQLite every
    # writer holds the database's lock anyway).
    petition = await session.get(Petition, state.id, with_for_update=True)
    if petition is None:
        raise LookupError(f"petition {state.id} has no intake record")
    if event.seq >= petition.projected_seq:
        for column, value in projected(record, petition.handling_overdue, now).items():
            setattr(petition, column, value)
    # Write every event up to this one that the table lacks: a retried step finds its event
    # written, and steps recorded concurrently (an update beside the main line) may land in
    # either order.
    have = set(
        await session.scalars(
            select(TimelineEvent.seq).where(TimelineEvent.petition_id == state.id)
        )
    )
    # The state's timeline (histories before v3) or the steps written together (since v3).
    events = {e.seq: e for e in (*state.timeline, *record.earlier, event) if e.seq <= event.seq}
    new_events = [e for seq, e in sorted(events.items()) if seq not in have]
    session.add_all(TimelineEvent(petition_id=state.id, **e.model_dump()) for e in new_events)
    # 答复意见书: a reply given is a numbered document, written once with its timeline entry.
    replies = [Document(**row) for row in reply_opinions(record, new_events)]
    for reply in replies:
        await numbering.number(session, [reply], number_year(reply.created_at))
    session.add_all(replies)
    written: set[str] = set()
    new_notices: list[Notice] = []
    if record.notices:
        seen = set(
            await session.scalars(
                select(Notice.key).where(
                    Notice.petition_id == state.id,
                    Notice.key.in_([n.key for n in record.notices]),
                )
            )
        )
        slip_due = slip_deadline(state.deadlines, event.at)
        for notice in record.notices:
            if notice.key in seen:
                continue
            row = Notice(**notice_row(state.id, notice, now, slip_due))
            row.to_route = to_route or None
            new_notices.append(row)
            written.add(notice.key)
        # Numbered in the transaction that writes them: a retry finds them written and takes
        # none; a failed write gives its numbers back. Numbered before they are added, so
        # each is inserted with its number (added first, the counter's UPDATE flushed them
        # without one, and a second UPDATE a row followed).
        await numbering.number(session, new_notices, number_year(now))
        session.add_all(new_notices)
    await session.flush()
    return written


async def save_document(
    session: AsyncSession, petition_id: str, *, kind: str, key: str, text: str, now: datetime
) -> None:
    """Store a document once per key (a retried activity finds it written)."""
    exists = await session.scalar(
        select(Document.id).where(Document.petition_id == petition_id, Document.key == key)
    )
    if exists is None:
        document = Document(petition_id=petition_id, kind=kind, key=key, text=text, created_at=now)
        await numbering.number(session, [document], number_year(now))  # inserted numbered
        session.add(document)
    await session.commit()


async def documents(
    session: AsyncSession, petition_id: str, kind: str = ACCEPTANCE_NOTICE
) -> list[Document]:
    """The petition's written documents of ``kind``: the acceptance notices (四告知) unless
    another kind is asked for (the 答复意见书, since issue 11). In the order they were issued
    (each is dated by the step that decided it): two rounds' documents are written by
    activities that may commit in either order."""
    return list(
        await session.scalars(
            select(Document)
            .where(Document.petition_id == petition_id, Document.kind == kind)
            .order_by(Document.created_at, Document.id)
        )
    )


async def document(session: AsyncSession, petition_id: str, document_id: int) -> Document | None:
    """One written document of the petition (None when it is another petition's)."""
    row = await session.get(Document, document_id)
    return row if row is not None and row.petition_id == petition_id else None


async def notice(session: AsyncSession, petition_id: str, notice_id: int) -> Notice | None:
    """One slip of the petition (None when it is another petition's)."""
    row = await session.get(Notice, notice_id)
    return row if row is not None and row.petition_id == petition_id else None


async def get(session: AsyncSession, petition_id: str) -> Petition | None:
    return await session.get(Petition, petition_id)


async def timeline(session: AsyncSession, petition_id: str) -> list[TimelineEvent]:
    rows = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.petition_id == petition_id)
        .order_by(TimelineEvent.seq)
    )
    return list(rows)


async def timeline_length(session: AsyncSession, petition_id: str) -> int:
    """How many of the petition's steps the read model holds (their seqs run 1, 2, …)."""
    count = await session.scalar(
        select(func.count()).where(TimelineEvent.petition_id == petition_id)
    )
    return int(count or 0)


async def notices(session: AsyncSession, petition_id: str | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id)
    if petition_id is not None:
        query = query.where(Notice.petition_id == petition_id)
    return list(await session.scalars(query))


def utcnow() -> datetime:
    return datetime.now(UTC)
