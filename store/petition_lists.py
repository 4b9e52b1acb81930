"""The supervisors' lists of petitions (by unit, level, overdue, due soon, category, stage,
within a reader's reach): their filters, pages and exact totals, each read from the index that
holds it in list order (store.list_reach splits the ORs into disjoint branches)."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from store import list_reach
from store.models import Petition, PetitionTally


@dataclass(frozen=True)
class PetitionFilter:
    stage: str | None = None
    phase: str | None = None
    unit_id: str | None = None
    level: int | None = None
    overdue: bool | None = None
    unaccepted_overdue: bool | None = None
    category: str | None = None
    due_before: datetime | None = None
    # Pending means still ahead: the nearest deadline is written at a step, and one that has
    # passed since (with no step after it) is no longer due.
    due_after: datetime | None = None
    # The reader's reach: None reads every unit; otherwise only petitions at these units, and
    # those ``owned_by`` this person (包案).
    within_units: frozenset[str] | None = None
    owned_by: str | None = None


# What a list's line shows (api.schemas.PetitionSummary): the rest of a row (the 2 KB policy
# the petition keeps, the content, the deadlines) is neither sent nor decoded for a list.
LINE = [
    Petition.id,
    Petition.channel,
    Petition.category,
    Petition.track,
    Petition.unit_id,
    Petition.summary,
    Petition.stage,
    Petition.phase,
    Petition.level,
    Petition.overdue,
    Petition.unaccepted_overdue,
    Petition.accountable,
    Petition.owner,
    Petition.closure,
    Petition.repeat_of,
    Petition.repeat_rule,
    Petition.handling_unit_id,
    Petition.registered_at,
    Petition.accepted_at,
    Petition.completed_at,
]


async def search(
    session: AsyncSession, filters: PetitionFilter, *, limit: int, offset: int
) -> tuple[list[Petition], int]:
    order = (Petition.registered_at.desc(), Petition.id.desc())
    parts = branches(filters)
    # The page's ids first, each branch's own first offset + limit in list order from its own
    # index (an OR of columns could only filter the newest rows; an offset skips index entries,
    # not wide rows); then only the page's rows are read whole.
    firsts = union_all(
        *(
            select(f.c.id, f.c.registered_at)
            for f in (
                select(Petition.id, Petition.registered_at)
                .where(*p)
                .order_by(*order)
                .limit(offset + limit)
                .subquery()
                for p in parts
            )
        )
    ).subquery()
    ids = select(firsts.c.id).order_by(firsts.c.registered_at.desc(), firsts.c.id.desc())
    page = select(Petition).where(Petition.id.in_(ids.limit(limit).offset(offset)))
    page = page.order_by(*order).options(load_only(*LINE, raiseload=True))
    return list(await session.scalars(page)), await total(session, filters)


async def total(session: AsyncSession, filters: PetitionFilter) -> int:
    """How many rows ``filters`` matches, exactly: the sum of its disjoint branches' counts, in
    one statement, so each is an index-only count rather than a visit to every matching row.
    Every petition (the bureau's unfiltered list): the tally the database keeps (migration
    0020), since a count of every row visits each one written since the last vacuum."""
    parts = branches(filters)
    if len(parts) == 1 and not parts[0]:
        return int(await session.scalar(select(PetitionTally.petitions)) or 0)
    counts = [
        select(func.count()).select_from(Petition).where(*branch).scalar_subquery()
        for branch in parts
    ]
    return int(await session.scalar(select(functools.reduce(operator.add, counts))) or 0)


def branches(filters: PetitionFilter) -> list[list[ColumnElement[bool]]]:
    """The conditions of ``filters`` as disjoint branches whose union is what ``matching``
    selects (the unit's books and the reader's reach split, the rest common to each)."""
    common = matching(
        replace(
            filters,
            unit_id=None,
            within_units=None,
            overdue=filters.overdue if filters.unit_id is None else None,
        )
    )
    out = [common]
    if filters.unit_id is not None:
        out = [[*o, *b] for o in out for b in list_reach.books_of(filters.unit_id, filters.overdue)]
    if filters.within_units is not None:
        within = list_reach.reach(sorted(filters.within_units), filters.owned_by)
        out = [[*o, *b] for o in out for b in within]
    return out


def matching(filters: PetitionFilter) -> list[ColumnElement[bool]]:
    """The conditions of ``filters`` on the petitions table: the lists' and the console
    board's (its counts are of the same rows a list shows)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.stage is not None:
        conditions.append(Petition.stage == filters.stage)
    if filters.unit_id is not None:
        conditions.append(_any(list_reach.books_of(filters.unit_id, filters.overdue)))
    if filters.within_units is not None:
        conditions.append(_any(list_reach.reach(sorted(filters.within_units), filters.owned_by)))
    if filters.level is not None:
        conditions.append(Petition.level == filters.level)
    if filters.overdue is not None and filters.unit_id is None:
        conditions.append(Petition.overdue.is_(filters.overdue))
    if filters.unaccepted_overdue is not None:
        conditions.append(Petition.unaccepted_overdue.is_(filters.unaccepted_overdue))
    if filters.phase is not None:
        conditions.append(Petition.phase == filters.phase)
    if filters.category is not None:
        conditions.append(Petition.category == filters.category)
    if filters.due_before is not None:
        conditions.append(Petition.next_due_at <= filters.due_before)
    if filters.due_after is not None:
        conditions.append(Petition.next_due_at > filters.due_after)
    return conditions


def _any(branches: list[list[ColumnElement[bool]]]) -> ColumnElement[bool]:
    return or_(*(and_(*branch) for branch in branches))
