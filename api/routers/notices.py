"""Notices (issue 11): the signed-in person's inbox (站内待办) and 签收, and the bureau's view of
every delivery (送达). The audit trail names each request after its endpoint function."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import CurrentUser
from api.deps import ServicesDep, SessionDep
from api.notice_schemas import DeliveryStatusPage, NoticePage, NoticePublic
from api.schemas import MAX_OFFSET, MAX_ROW_ID, ErrorPublic
from api.service import inbox
from domain.delivery import DeliveryChannel
from domain.notice_delivery import DeliveryStatus
from domain.vocabulary import NoticeKind
from store.notices import DeliveryFilter

router = APIRouter(tags=["notices"])

NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "no such notice in your inbox"}
}
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/me/notices", response_model=NoticePage)
async def my_notices(
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
    kind: NoticeKind | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> NoticePage:
    """Your inbox: the slips sent to you, those not yet signed for (签收) first, each with its
    deliveries (channel, status, attempts, last error, delivered at)."""
    prefix = services.settings.document_prefix
    return await inbox.inbox(session, user, kind=kind, limit=limit, offset=offset, prefix=prefix)


@router.post("/me/notices/{notice_id}/ack", response_model=NoticePublic, responses=NOT_YOURS)
async def sign_for_notice(
    notice_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> NoticePublic:
    """签收: you acknowledge a notice sent to you; the time is recorded once (asking again
    answers the first time). Only its recipient signs: anyone else's notice is 404."""
    return await inbox.sign(session, services, user, notice_id)


@router.get(
    "/notices",
    response_model=DeliveryStatusPage,
    responses={403: {"model": ErrorPublic, "description": "for the bureau"}},
)
async def list_deliveries(
    session: SessionDep,
    user: CurrentUser,
    status: DeliveryStatus | None = None,
    channel: DeliveryChannel | None = None,
    petition_id: Annotated[str | None, Query(max_length=32)] = None,
    recipient_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeliveryStatusPage:
    """Every notice's deliveries, newest first (e.g. ``status=failed``: what did not arrive),
    with each notice's 签收: for the bureau (and who reads every unit)."""
    filters = DeliveryFilter(
        status=status.value if status else None,
        channel=channel.value if channel else None,
        petition_id=petition_id,
        recipient_id=recipient_id,
    )
    return await inbox.delivery_status(session, user, filters, limit=limit, offset=offset)
