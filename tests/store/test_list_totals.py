"""The lists' totals count a unit's books and a reader's reach branch by branch (issue 9: an
index-only count each); the sum must be what the list's filter selects, no row twice (a case
owned by a leader at one of their own units, one handled by a unit now at another unit of the
reach) and none lost (a petition still at the bureau, with no unit)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.schemas import PetitionSummary
from store import petition_lists, petitions
from store.db import readers
from store.models import Petition
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

# (unit_id, handling_unit_id, overdue, handling_overdue, owner_id) of each petition
ROWS = [
    (None, None, False, False, None),  # at the bureau, before 交办
    ("xihe", None, True, False, None),
    ("xihe", None, False, False, "cl-01"),  # owned, and at a unit of the reach
    ("dongguan", "xihe", False, True, None),  # 复查 at dongguan, handled by xihe
    ("xihe", "xihe", True, True, None),  # handled and at the same unit
    ("renshe", "dongguan", True, False, "cl-01"),  # handled in reach, owned too
    ("renshe", None, False, False, "cl-01"),  # owned, outside the units
    ("renshe", None, True, False, None),
]


def selected(row: Petition, f: petition_lists.PetitionFilter) -> bool:
    """What each filter means, in Python (SQL's NULL is never equal, nor unequal)."""
    if f.unit_id is not None:
        at_unit = row.unit_id == f.unit_id and f.overdue in (None, row.overdue)
        handled = (
            row.handling_unit_id == f.unit_id
            and row.unit_id not in (None, f.unit_id)
            and f.overdue in (None, row.handling_overdue)
        )
        if not (at_unit or handled):
            return False
    elif f.overdue is not None and row.overdue is not f.overdue:
        return False
    if f.within_units is not None:
        owned = f.owned_by is not None and row.owner_id == f.owned_by
        units = f.within_units
        if not (row.unit_id in units or row.handling_unit_id in units or owned):
            return False
    return True


async def test_totals_by_branch_are_the_lists_rows_once_each(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    start = datetime.now(UTC) - timedelta(days=30)
    ids = [
        await register_petition(sessions, settings=settings, phone=f"139{n:08d}", unit_id=r[0])
        for n, r in enumerate(ROWS)
    ]
    async with sessions() as session:
        for n, (unit, handling, flag, handling_flag, owner) in enumerate(ROWS):
            row = await petitions.get(session, ids[n])
            assert row is not None
            row.unit_id, row.handling_unit_id, row.owner_id = unit, handling, owner
            row.overdue, row.handling_overdue = flag, handling_flag
            row.registered_at = start + timedelta(hours=n)
        await session.commit()
        every = list(await session.scalars(select(Petition)))
        reaches = [None, frozenset({"xihe", "dongguan"}), frozenset()]
        overdues: list[bool | None] = [None, True, False]
        for unit, overdue, within, owner in itertools.product(
            [None, "xihe", "dongguan"], overdues, reaches, [None, "cl-01"]
        ):
            f = petition_lists.PetitionFilter(
                unit_id=unit, overdue=overdue, within_units=within, owned_by=owner
            )
            expected = sorted(
                (r for r in every if selected(r, f)),
                key=lambda r: (r.registered_at, r.id),
                reverse=True,
            )
            parts = [
                set(await session.scalars(select(Petition.id).where(*branch)))
                for branch in petition_lists.branches(f)
            ]
            assert sum(map(len, parts)) == len(set().union(*parts)), f"{f}: a row twice"
            assert set().union(*parts) == {r.id for r in expected}, f
            rows, total = await petition_lists.search(session, f, limit=100, offset=0)
            assert (total, [r.id for r in rows]) == (len(expected), [r.id for r in expected]), f
            page, _ = await petition_lists.search(session, f, limit=2, offset=1)
            assert [r.id for r in page] == [r.id for r in expected][1:3], f


def test_a_list_line_reads_every_field_the_api_shows() -> None:
    """The lists read only a line's columns (``petition_lists.LINE``): a field the API's list line
    gains must be read too, or the list raises for it."""
    assert set(PetitionSummary.model_fields) <= {column.key for column in petition_lists.LINE}


async def test_a_list_read_while_a_step_commits_agrees_with_its_total(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """A reader (a GET request) reads one snapshot: a list's page and its total, two statements,
    agree however a step commits between them (PostgreSQL's READ COMMITTED gave CI a page of
    no rows and a total of one)."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    handling = petition_lists.PetitionFilter(stage="handling")
    async with readers(sessions)() as reader:
        rows, total = await petition_lists.search(reader, handling, limit=10, offset=0)
        assert (rows, total) == ([], 0)
        async with sessions() as writer:  # the acceptance's step commits meanwhile
            row = await petitions.get(writer, pid)
            assert row is not None
            row.stage = "handling"
            await writer.commit()
        assert await petition_lists.total(reader, handling) == 0
    async with readers(sessions)() as later:
        assert await petition_lists.total(later, handling) == 1
