"""Reading petitions: the list from the read model; one petition's live state (the workflow
when it answers), its slips and its written documents."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from api.errors import Unavailable
from api.schemas import DocumentPublic, NoticePublic, PetitionPage, PetitionPublic
from api.service.case import Case
from api.service.views import document_public, notice_public, petition_public, petition_summary
from domain.access import Principal
from domain.contracts import PetitionState, TimelineEvent
from store import petitions
from workflows.petition import PetitionWorkflow

log = logging.getLogger("petitionflow.api")


async def search(
    session: AsyncSession,
    reader: Principal,
    filters: petitions.PetitionFilter,
    *,
    limit: int,
    offset: int,
) -> PetitionPage:
    """Supervisors' list, newest first, from the read model, within the reader's reach: the
    petitions of their units and the cases they own (every unit for those who read all)."""
    reach = replace(
        filters,
        within_units=None if reader.reads_all else reader.chain_units,
        owned_by=reader.person_id,
    )
    rows, total = await petitions.search(session, reach, limit=limit, offset=offset)
    return PetitionPage(
        items=[petition_summary(r) for r in rows], total=total, limit=limit, offset=offset
    )


async def detail(case: Case) -> PetitionPublic:
    """The live state: stage, level, who is accountable, every deadline with its reason and
    the timeline — from the workflow when it answers, else from the read model (same shape,
    at most one step behind)."""
    row = await case.petition()
    live: PetitionState | None = None
    if row.workflow_started:
        try:
            handle = await case.workflow()
            live = await handle.query(PetitionWorkflow.state, rpc_timeout=case.rpc_timeout)
        except (RPCError, WorkflowQueryFailedError, Unavailable) as exc:
            log.info(
                "petition %s: live query failed (%s); answering from the read model",
                case.petition_id,
                exc,
            )
    if live is not None:
        return petition_public(row, case.reader, live)
    timeline = [
        TimelineEvent.model_validate(e, from_attributes=True)
        for e in await petitions.timeline(case.session, case.petition_id)
    ]
    return petition_public(row, case.reader, timeline=timeline)


async def notices(case: Case) -> list[NoticePublic]:
    """The slips (交办/催办/督办/逾期/告知) the petition has sent, oldest first."""
    await case.petition()
    return [notice_public(n) for n in await petitions.notices(case.session, case.petition_id)]


async def documents(case: Case) -> list[DocumentPublic]:
    """Written documents: the acceptance notice (四告知) of each round."""
    await case.petition()
    return [document_public(d) for d in await petitions.documents(case.session, case.petition_id)]
