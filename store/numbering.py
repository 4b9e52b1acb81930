"""The county's yearly document numbers (文号): one counter row per kind and year, bumped in the
transaction that writes the slip or document, so a number is never given twice and none is
lost — a transaction that fails (a retried step racing its first attempt) rolls its bump back
with its rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.slips import NUMBER_CODES, number_year, numbered
from store.models import Document, DocumentCounter, Notice

Numbered = Notice | Document


async def take(session: AsyncSession, kind: str, year: int, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of ``kind`` in ``year``; returns the first. The
    row stays locked (PostgreSQL) until the caller's transaction ends: callers taking several
    kinds take them in sorted order, so two transactions never wait on each other in a ring."""
    last = await _bump(session, kind, year, count)
    if last is None:
        # The kind's first number of the year: create its counter. Two at once (PostgreSQL)
        # both try; the loser's savepoint rolls back and it bumps the row the other made.
        try:
            async with session.begin_nested():
                session.add(DocumentCounter(kind=kind, year=year, last=0))
        except IntegrityError:
            pass
        last = await _bump(session, kind, year, count)
        assert last is not None
    return last - count + 1


async def _bump(session: AsyncSession, kind: str, year: int, count: int) -> int | None:
    # UPDATE … RETURNING takes the row lock at once: no two transactions read the same last.
    result = await session.execute(
        update(DocumentCounter)
        .where(DocumentCounter.kind == kind, DocumentCounter.year == year)
        .values(last=DocumentCounter.last + count)
        .returning(DocumentCounter.last)
    )
    last: int | None = result.scalar_one_or_none()
    return last


async def number(session: AsyncSession, rows: Sequence[Numbered], year: int) -> None:
    """Give each row of a numbered kind the next number of its kind in ``year``, in the
    rows' order; the other kinds stay unnumbered."""
    by_kind: dict[str, list[Numbered]] = {}
    for row in rows:
        if numbered(row.kind):
            by_kind.setdefault(row.kind, []).append(row)
    for kind in sorted(by_kind):  # one lock order for every transaction
        first = await take(session, kind, year, len(by_kind[kind]))
        for offset, row in enumerate(by_kind[kind]):
            row.serial_year, row.serial = year, first + offset


async def renumber(session: AsyncSession) -> None:
    """Number every slip and document again, per kind and Beijing year, in the order they were
    written (``created_at``, then id), and set the counters to match: what a rebuild of a lost
    read model does once every petition is back, as their steps were restored petition by
    petition rather than in the order they happened."""
    counts: dict[tuple[str, int], int] = {}
    notices = await session.scalars(
        select(Notice).where(Notice.kind.in_(NUMBER_CODES)).order_by(Notice.created_at, Notice.id)
    )
    documents = await session.scalars(
        select(Document)
        .where(Document.kind.in_(NUMBER_CODES))
        .order_by(Document.created_at, Document.id)
    )
    batches: list[Sequence[Numbered]] = [list(notices), list(documents)]
    for rows in batches:
        for row in rows:  # cleared first: no number is held twice on the way
            row.serial_year = row.serial = None
        await session.flush()
        for row in rows:
            year = number_year(row.created_at)
            counts[(row.kind, year)] = serial = counts.get((row.kind, year), 0) + 1
            row.serial_year, row.serial = year, serial
        await session.flush()
    await session.execute(delete(DocumentCounter))
    session.add_all(DocumentCounter(kind=k, year=y, last=n) for (k, y), n in counts.items())
    await session.flush()
