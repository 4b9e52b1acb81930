"""The tally of petitions (migration 0020) that the bureau's unfiltered list shows as its total:
the database's triggers keep it equal to the rows, however they are written or removed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import petition_lists, petitions
from store.models import Petition, PetitionTally
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

EVERYTHING = petition_lists.PetitionFilter()


async def tally_and_rows(session: AsyncSession) -> tuple[int, int, int]:
    """The tally, the rows counted one by one, and the unfiltered list's total."""
    tally = await session.scalar(select(PetitionTally.petitions))
    rows = await session.scalar(select(func.count()).select_from(Petition))
    _, total = await petition_lists.search(session, EVERYTHING, limit=1, offset=0)
    return int(tally or 0), int(rows or 0), total


async def test_the_tally_follows_registrations_bulk_rows_and_deletes(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    first = await register_petition(sessions, settings=settings, phone="13900000001")
    await register_petition(sessions, settings=settings, phone="13900000002")
    async with sessions() as session:
        tally, rows, total = await tally_and_rows(session)
        assert tally == rows == total and rows >= 2

        # Many rows in one statement, as the simulator writes a year (one trigger run on
        # PostgreSQL, counting them all).
        template = await petitions.get(session, first)
        assert template is not None
        row = {c.key: getattr(template, c.key) for c in Petition.__table__.columns}
        bulk = [{**row, "id": f"XF-BULK-{n}", "registered_at": datetime.now(UTC)} for n in range(5)]
        await session.execute(insert(Petition), bulk)
        await session.commit()
        assert await tally_and_rows(session) == (rows + 5, rows + 5, rows + 5)

        await session.execute(delete(Petition).where(Petition.id.like("XF-BULK-%")))
        await session.commit()
        assert await tally_and_rows(session) == (rows, rows, rows)

        # A rolled-back registration leaves the tally as it was.
        await session.execute(insert(Petition), [{**row, "id": "XF-GONE"}])
        await session.rollback()
        assert await tally_and_rows(session) == (rows, rows, rows)

        if session.bind.dialect.name == "postgresql":  # SQLite has no TRUNCATE
            await session.execute(text("TRUNCATE petitions CASCADE"))
            await session.commit()
            assert await tally_and_rows(session) == (0, 0, 0)
