"""The 督查 board's counts and 我的待办's petitions, from the read model: open petitions by unit
and level under the same filters as the lists (store.petition_lists.matching), so each number of
the board is the total of the list it links to."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.lifecycle import OPEN_STAGES
from store.models import Petition
from store.petition_lists import PetitionFilter, matching

OPEN = [s.value for s in OPEN_STAGES]
DUE_SOON = timedelta(days=1)  # amber on the pages: due within a day


@dataclass(frozen=True)
class Cell:
    unit_id: str | None
    level: int | None
    open: int
    overdue: int


async def open_by_unit_and_level(session: AsyncSession, filters: PetitionFilter) -> list[Cell]:
    """Open petitions (registered, assigned, handling, overdue) counted by where they are now
    and the chain level accountable, with how many of them are overdue."""
    query = (
        select(
            Petition.unit_id,
            Petition.level,
            func.count(),
            func.sum(case((Petition.overdue, 1), else_=0)),
        )
        .where(*matching(replace(filters, stage=None)), Petition.stage.in_(_stages(filters)))
        .group_by(Petition.unit_id, Petition.level)
    )
    return [
        Cell(unit, level, int(count), int(overdue or 0))
        for unit, level, count, overdue in await session.execute(query)
    ]


def _stages(filters: PetitionFilter) -> list[str]:
    return [filters.stage] if filters.stage in OPEN else OPEN


async def open_of(
    session: AsyncSession, units: frozenset[str], owner_id: str, *, limit: int = 200
) -> list[Petition]:
    """The open petitions at ``units`` or owned by ``owner_id`` (包案), soonest due first: the
    rows 我的待办 picks the reader's own from (whom each names accountable)."""
    reach = or_(Petition.unit_id.in_(sorted(units)), Petition.owner_id == owner_id)
    rows = await session.scalars(
        select(Petition)
        .where(Petition.stage.in_(OPEN), reach)
        .order_by(Petition.next_due_at.is_(None), Petition.next_due_at, Petition.id)
        .limit(limit)
    )
    return list(rows)


async def listed(session: AsyncSession, filters: PetitionFilter, limit: int) -> list[Petition]:
    """The open petitions a board cell counts (same filters), soonest due first."""
    rows = await session.scalars(
        select(Petition)
        .where(*matching(replace(filters, stage=None)), Petition.stage.in_(_stages(filters)))
        .order_by(Petition.next_due_at.is_(None), Petition.next_due_at, Petition.id)
        .limit(limit)
    )
    return list(rows)


async def due_soon(
    session: AsyncSession, filters: PetitionFilter, limit: int, within: timedelta = DUE_SOON
) -> list[Petition]:
    """Open petitions not overdue whose next deadline falls within ``within`` from now."""
    now = datetime.now(UTC)
    soon = replace(filters, overdue=False, due_before=now + within, due_after=now)
    return await listed(session, soon, limit)


async def count_by_stage(
    session: AsyncSession, filters: PetitionFilter, stages: list[str]
) -> dict[str, int]:
    """How many petitions under ``filters`` are at each of ``stages``: one query."""
    rows = await session.execute(
        select(Petition.stage, func.count())
        .where(*matching(replace(filters, stage=None)), Petition.stage.in_(stages))
        .group_by(Petition.stage)
    )
    found = {stage: int(count) for stage, count in rows}
    return {stage: found.get(stage, 0) for stage in stages}
