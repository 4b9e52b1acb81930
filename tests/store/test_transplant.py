"""A simulated year copied into a read model (issue 13, item 7): moved back in time, numbered
after what the target holds, its timeline following its petition's new number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from store.db import dispose, make_engine, make_sessionmaker
from store.models import Petition, PetitionCounter, TimelineEvent
from store.transplant import transplant
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, register_petition


async def test_the_copy_moves_back_and_numbers_after_the_targets_own(
    sessions: async_sessionmaker[Any], templates: Templates, tmp_path: Path
) -> None:
    source = make_sessionmaker(make_engine(await templates.sqlite_copy(tmp_path / "sim.db")))
    settings = make_settings(tmp_path)
    played_at = datetime(2027, 3, 3, 2, 0, tzinfo=UTC)  # a Wednesday on the server's clock
    first = await register_petition(source, settings=settings, now=played_at)
    await register_petition(source, settings=settings, now=played_at, phone="13900000002")
    async with source() as session:
        note = f"{first} 已交办"
        session.add(
            TimelineEvent(petition_id=first, seq=1, at=played_at, kind="assigned", note=note)
        )
        await session.commit()
    async with sessions() as target:
        target.add(PetitionCounter(year=2025, last=7))  # the target's own 2025 petitions
        await target.commit()
    shift = timedelta(weeks=104)
    async with source() as from_, sessions() as into:
        assert await transplant(from_, into, shift) == 2
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(Petition).where(Petition.id.like("XF-2025-%")).order_by(Petition.id)
            )
        )
        event = await session.scalar(select(TimelineEvent).where(TimelineEvent.note.is_not(None)))
        counter = await session.get(PetitionCounter, 2025)
    assert [p.id for p in rows] == ["XF-2025-000008", "XF-2025-000009"]
    assert rows[0].registered_at == played_at - shift
    assert rows[0].registered_at.weekday() == played_at.weekday()
    assert event is not None and event.petition_id == "XF-2025-000008"
    assert event.note == "XF-2025-000008 已交办" and event.at == played_at - shift
    assert counter is not None and counter.last == 9
    await dispose(source)
