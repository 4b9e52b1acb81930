"""What the bureau records for the 周报 and the 专报 (issue 13): the leaders' reception days
(领导接访), the AB-post duty roster (接访AB岗) and the 专报 marks, each 专报 written at once as
notices in the county principal leaders' inboxes with the case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.special import Step, notice_text
from domain.vocabulary import EventKind, NoticeKind, Role
from store import directory, petitions
from store.models import DutyDay, LeaderReception, Notice, Person, Petition, SpecialReport


async def record_reception(session: AsyncSession, reception: LeaderReception) -> LeaderReception:
    session.add(reception)
    await session.commit()
    return reception


async def receptions(
    session: AsyncSession, start: date, end: date
) -> list[tuple[LeaderReception, Person]]:
    """The reception days from ``start`` to ``end`` (both included), with their leader."""
    rows = await session.execute(
        select(LeaderReception, Person)
        .join(Person, Person.id == LeaderReception.leader_id)
        .where(LeaderReception.day >= start, LeaderReception.day <= end)
        .order_by(LeaderReception.day, LeaderReception.id)
    )
    return [(reception, person) for reception, person in rows]


async def set_duty(session: AsyncSession, duty: DutyDay) -> DutyDay:
    """A day of the roster, replacing what was set for that day before."""
    found = await session.get(DutyDay, duty.day, with_for_update=True)
    if found is None:
        session.add(duty)
        found = duty
    else:
        found.a_person_id, found.b_person_id = duty.a_person_id, duty.b_person_id
        found.recorded_by, found.recorded_at = duty.recorded_by, duty.recorded_at
    await session.commit()
    return found


async def duty_roster(session: AsyncSession, start: date, end: date) -> list[DutyDay]:
    rows = await session.scalars(
        select(DutyDay).where(DutyDay.day >= start, DutyDay.day <= end).order_by(DutyDay.day)
    )
    return list(rows)


async def names(session: AsyncSession, person_ids: set[str]) -> dict[str, str]:
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids)))
    return {person_id: name for person_id, name in rows}


@dataclass(frozen=True)
class Marked:
    report: SpecialReport
    notices: list[Notice]


async def mark_special(
    session: AsyncSession,
    petition_id: str,
    kind: str,
    reason: str,
    by: str,
    now: datetime,
    *,
    as_of: datetime | None = None,
) -> Marked:
    """专报: the mark, and one notice per county principal leader with the case's timeline,
    written in one transaction (the leaders learn of it at once, or nothing is marked).
    ``as_of``: the timeline up to then only (a simulated year is written whole before the
    bureau's marks are, worker/simulate_extras.py)."""
    petition = await petitions.get(session, petition_id)
    if petition is None:
        raise LookupError(petition_id)
    report = SpecialReport(
        petition_id=petition_id, kind=kind, reason=reason, marked_by=by, marked_at=now
    )
    session.add(report)
    await session.flush()  # its id names the notices' keys
    unit = await directory.get_unit(session, petition.unit_id) if petition.unit_id else None
    steps = [
        Step(at=e.at, kind=e.kind, who=e.person_name, note=e.note)
        for e in await petitions.timeline(session, petition_id)
        if as_of is None or e.at <= as_of
    ]
    if not any(step.kind == EventKind.REGISTERED for step in steps):
        # The workflow has not projected its first step yet: the intake record says when.
        steps.insert(
            0, Step(at=petition.registered_at, kind=EventKind.REGISTERED, who=None, note=None)
        )
    text = notice_text(
        petition_id,
        petition.summary,
        unit.name if unit else "信访局（未交办）",
        kind,
        reason,
        steps,
    )
    leaders = await _principal_leaders(session)
    written = [
        Notice(
            petition_id=petition_id,
            key=f"special-{report.id}-{person.id}",
            kind=NoticeKind.SPECIAL_REPORT.value,
            level=None,
            recipient_id=person.id,
            recipient_name=person.name,
            recipient_role=Role.COUNTY_PRINCIPAL_LEADER.value,
            text=text,
            created_at=now,
        )
        for person in leaders
    ]
    session.add_all(written)
    await session.commit()
    return Marked(report, written)


async def _principal_leaders(session: AsyncSession) -> list[Person]:
    bureau = await directory.bureau_unit_id(session)
    if bureau is None:
        return []
    holders = await directory.role_holders(session, bureau, Role.COUNTY_PRINCIPAL_LEADER.value)
    return [person for person, _ in holders]


async def specials(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[SpecialReport, str, str | None, str]]:
    """The 专报 marked in [start, end): each with its petition's summary, unit and stage."""
    rows = await session.execute(
        select(SpecialReport, Petition.summary, Petition.unit_id, Petition.stage)
        .join(Petition, Petition.id == SpecialReport.petition_id)
        .where(SpecialReport.marked_at >= start, SpecialReport.marked_at < end)
        .order_by(SpecialReport.marked_at, SpecialReport.id)
    )
    return [(r, summary, unit, stage) for r, summary, unit, stage in rows]
