"""A step record as the workflow hands it to ``record_step``, for tests of that activity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from activities.petition import PetitionActivities
from activities.upload import DirectoryUpstream
from core.settings import Settings
from core.starter import start_input
from domain.contracts import (
    Notice,
    Person,
    PetitionState,
    RoleLookup,
    StepRecord,
    TimelineEvent,
)
from domain.vocabulary import EventKind, NoticeKind, Role, Stage
from store import petitions
from tests.helpers.store import register_petition


async def supervision_step(
    sessions: async_sessionmaker[Any], settings: Settings, folder: Path, *, at: datetime | None
) -> tuple[PetitionActivities, StepRecord]:
    """A petition of 东关镇 registered now, the activities, and the record of its level-3 督办
    (``escalation-L3``) to the unit head, taken ``at`` (None: when it was registered)."""
    petition_id = await register_petition(sessions, settings=settings)
    activities = PetitionActivities(sessions, DirectoryUpstream(folder / "upstream"))
    holder = await activities.find_role_holder(
        RoleLookup(petition_id=petition_id, unit_id="dongguan", role=Role.UNIT_HEAD)
    )
    assert isinstance(holder, Person) and holder.person_id == "dongguan-head"
    async with sessions() as session:
        row = await petitions.get(session, petition_id)
    assert row is not None
    event = TimelineEvent(seq=1, at=at or row.registered_at, kind=EventKind.SUPERVISION, level=3)
    start = start_input(row, settings.review_units)
    state = PetitionState(
        id=petition_id,
        unit_id="dongguan",
        track=start.track,
        category=start.category,
        stage=Stage.HANDLING,
        level=3,
        registered_at=row.registered_at,
        policy_version="test",
        timeline=[event],
    )
    notice = Notice(
        key="escalation-L3", kind=NoticeKind.SUPERVISION, level=3, recipient=holder, text="督办"
    )
    return activities, StepRecord(state=state, event=event, notices=[notice])
