"""The inbox (站内待办) and 签收 (issue 11): each person's notices with their deliveries, the
acknowledgement only the recipient gives, and the bureau's view of every delivery."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from api.deps import Services
from api.errors import NotAllowed, NotFound, ServiceError
from api.notice_schemas import (
    DeliveryPublic,
    DeliveryStatusPage,
    DeliveryStatusPublic,
    NoticePage,
    NoticePublic,
)
from api.service.views import notice_public
from domain.access import Principal
from domain.contracts import TimelineEvent
from domain.notice_delivery import SIGNED_FOR, notice_workflow_id
from domain.vocabulary import NOTICE_LABELS, EventKind, NoticeKind, Role
from store import notices
from store.models import Notice
from store.petitions import utcnow

log = logging.getLogger("petitionflow.inbox")


async def with_deliveries(
    session: AsyncSession, rows: Sequence[Notice], prefix: str | None = None
) -> list[NoticePublic]:
    """Each notice with its deliveries, channel by channel, and its number (文号) when the
    county's ``prefix`` is given."""
    found = await notices.deliveries_of(session, [n.id for n in rows])
    return [
        notice_public(n, prefix).model_copy(
            update={"deliveries": [DeliveryPublic.model_validate(d) for d in found[n.id]]}
        )
        for n in rows
    ]


async def inbox(
    session: AsyncSession,
    reader: Principal,
    *,
    kind: NoticeKind | None,
    limit: int,
    offset: int,
    prefix: str | None = None,
) -> NoticePage:
    """The reader's own notices: those not yet signed for first, then newest first."""
    rows, total = await notices.inbox(
        session, reader.person_id, kind=kind.value if kind else None, limit=limit, offset=offset
    )
    items = await with_deliveries(session, rows, prefix)
    return NoticePage(items=items, total=total, limit=limit, offset=offset)


async def sign(
    session: AsyncSession, services: Services, reader: Principal, notice_id: int
) -> NoticePublic:
    """签收 by the recipient, once (a second answers the first time). Another person's notice
    is NotFound: an inbox shows its owner's notices only, and says nothing of the others'."""
    notice = await notices.sign(session, notice_id, reader.person_id, utcnow())
    if notice is None:
        raise NotFound(f"notice {notice_id} not found in your inbox")
    # The store holds the truth; the signal only ends the delivery's wait early. Without it
    # (Temporal away, or no delivery running) the 催办 step finds the notice signed and stops.
    # The petition's workflow delivers its notices (since the patch deliveries-in-workflow);
    # a delivery started before has a workflow of its own: both are told, either may be gone.
    client = None
    try:
        client = await services.temporal()
        await client.get_workflow_handle(notice.petition_id).signal(SIGNED_FOR, notice.key)
    except (RPCError, ServiceError) as exc:
        log.info("签收 of notice %s recorded; its petition not told: %s", notice.id, exc)
    if client is not None:
        try:
            handle = client.get_workflow_handle(notice_workflow_id(notice.petition_id, notice.key))
            await handle.signal(SIGNED_FOR)
        except RPCError:
            pass  # no delivery workflow of its own: the usual case since the patch
    [public] = await with_deliveries(session, [notice], services.settings.document_prefix)
    return public


async def delivery_status(
    session: AsyncSession,
    reader: Principal,
    filters: notices.DeliveryFilter,
    *,
    limit: int,
    offset: int,
) -> DeliveryStatusPage:
    """Every notice's deliveries, newest first: for those who read every unit (the bureau)."""
    if not reader.reads_all:
        raise NotAllowed("only the bureau sees everyone's deliveries")
    rows, total = await notices.delivery_status(session, filters, limit=limit, offset=offset)
    items = [
        DeliveryStatusPublic(
            channel=d.channel,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
            notice_id=n.id,
            petition_id=n.petition_id,
            key=n.key,
            kind=n.kind,
            recipient_id=n.recipient_id,
            recipient_name=n.recipient_name,
            signed_at=n.signed_at,
        )
        for d, n in rows
    ]
    return DeliveryStatusPage(items=items, total=total, limit=limit, offset=offset)


def with_receipts(timeline: list[TimelineEvent], signed: Sequence[Notice]) -> list[TimelineEvent]:
    """The timeline with each slip's 签收 after the last step before it (its seq repeats that
    step's: 签收 is the recipient's act, not one of the workflow's steps)."""
    merged = list(timeline)
    for notice in sorted(signed, key=lambda n: (n.signed_at, n.id)):
        at = notice.signed_at
        assert at is not None
        after = max((i for i, e in enumerate(merged) if e.at <= at), default=-1) + 1
        label = NOTICE_LABELS.get(NoticeKind(notice.kind), notice.kind)
        merged.insert(
            after,
            TimelineEvent(
                seq=merged[after - 1].seq if after else 0,
                at=at,
                kind=EventKind.SIGNED,
                level=notice.level,
                role=Role(notice.recipient_role),
                person_id=notice.recipient_id,
                person_name=notice.recipient_name,
                note=f"签收{label}（{notice.key}）",
            ),
        )
    return merged
