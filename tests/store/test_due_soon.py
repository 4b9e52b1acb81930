"""The "due soon" list reads the nearest deadline as of now: one that has passed since the last
step wrote it is no longer pending (issue 10: never a stale next_due_at)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from store import petition_lists, petitions
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

DAY = timedelta(days=1)


async def test_a_deadline_passed_since_its_step_is_not_due(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    settings = make_settings(tmp_path)
    passed = await register_petition(sessions, settings=settings, now=now)
    ahead = await register_petition(sessions, settings=settings, now=now, phone="13900000001")
    async with sessions() as session:
        for petition_id, due in ((passed, now - timedelta(hours=1)), (ahead, now + DAY)):
            row = await petitions.get(session, petition_id)
            assert row is not None
            row.next_due_at = due
        await session.commit()
        soon = petition_lists.PetitionFilter(due_before=now + DAY * 2, due_after=now)
        rows, total = await petition_lists.search(session, soon, limit=10, offset=0)
    assert [r.id for r in rows] == [ahead] and total == 1
