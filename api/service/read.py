"""Reading petitions, all from the read model: the list, one petition's state, its slips and
its written documents. Reads never ask the workflow engine: they stay fast while it is busy,
and answer while it is down."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.notice_schemas import NoticePublic
from api.schemas import DocumentPublic, PetitionPage, PetitionPublic
from api.service import inbox
from api.service.case import Case
from api.service.views import document_public, petition_public, petition_summary
from domain.access import Principal
from domain.contracts import TimelineEvent
from domain.slips import ACCEPTANCE_NOTICE
from store import notices as inboxes
from store import petition_lists, petitions


async def search(
    session: AsyncSession,
    reader: Principal,
    filters: petition_lists.PetitionFilter,
    *,
    limit: int,
    offset: int,
) -> PetitionPage:
    """Supervisors' list, newest first, from the read model, within the reader's reach: the
    petitions of their units and the cases they own (every unit for those who read all)."""
    rows, total = await petition_lists.search(
        session, within_reach(reader, filters), limit=limit, offset=offset
    )
    return PetitionPage(
        items=[petition_summary(r) for r in rows], total=total, limit=limit, offset=offset
    )


def within_reach(
    reader: Principal, filters: petition_lists.PetitionFilter
) -> petition_lists.PetitionFilter:
    """``filters`` narrowed to what ``reader`` may see: the lists and the console's board."""
    return replace(
        filters,
        within_units=None if reader.reads_all else reader.chain_units,
        # 包案: the cases they own, while they hold a leader post.
        owned_by=reader.person_id if reader.is_leader else None,
        # "Due soon" lists what is still pending now, whatever the last step wrote.
        due_after=datetime.now(UTC) if filters.due_before is not None else None,
    )


async def detail(case: Case) -> PetitionPublic:
    """The petition's state: stage, level, who is accountable, every deadline with its reason
    and the timeline — from the read model alone, in the one read that also checks access.
    It follows the workflow within a moment (each step is written right after it is
    decided); the answer to an action is the workflow's own state at once."""
    row = await case.petition()
    timeline = [
        TimelineEvent.model_validate(e, from_attributes=True)
        for e in await petitions.timeline(case.session, case.petition_id)
    ]
    timeline = inbox.with_receipts(timeline, await inboxes.signed(case.session, case.petition_id))
    return petition_public(row, case.reader, timeline=timeline)


async def notices(case: Case) -> list[NoticePublic]:
    """The slips (交办/催办/督办/逾期/告知) the petition has sent, oldest first."""
    await case.petition()
    prefix = case.services.settings.document_prefix
    rows = await petitions.notices(case.session, case.petition_id)
    return await inbox.with_deliveries(case.session, rows, prefix)


async def documents(case: Case, kind: str = ACCEPTANCE_NOTICE) -> list[DocumentPublic]:
    """Written documents of one kind: the acceptance notice (四告知) of each round, or the
    reply of each round (答复意见书)."""
    await case.petition()
    prefix = case.services.settings.document_prefix
    rows = await petitions.documents(case.session, case.petition_id, kind)
    return [document_public(d, prefix) for d in rows]
