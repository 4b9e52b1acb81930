"""The delivery outbox (issue 11, the patch ``deliveries-outboxed``): the notices a step wrote
marked ``to_route``, routed by the notices' process into their rows on each channel (with the
mark cleared, in one transaction), and those rows claimed, retried and closed by it
(activities/outbox.py). A row is due when ``due_at`` has passed: the quiet
hours' release, a retry's backoff, or the end of the lease of a process that claimed it and died.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Notice, NoticeDelivery
from store.notices import FAILED, PENDING, SENT


@dataclass(frozen=True)
class Send:
    """One row to write: a notice on one channel, its address, its own text (None: the
    notice's), and when it may go (None: at once)."""

    notice_id: int
    channel: str
    address: str
    text: str | None
    not_before: datetime | None


async def put(
    session: AsyncSession, sends: Sequence[Send], now: datetime, give_up_after: timedelta
) -> None:
    """Add the rows ``sends`` names that are not there yet (a retried ``record_step`` finds them
    written), without committing: they go with the caller's transaction. A row written at the
    same moment elsewhere fails the commit, and the caller's retry finds it."""
    if not sends:
        return
    have: set[tuple[int, str]] = set(
        (
            await session.execute(
                select(NoticeDelivery.notice_id, NoticeDelivery.channel).where(
                    NoticeDelivery.notice_id.in_({s.notice_id for s in sends})
                )
            )
        ).all()
    )
    for send in sends:
        if (send.notice_id, send.channel) in have:
            continue
        due = send.not_before or now
        session.add(
            NoticeDelivery(
                notice_id=send.notice_id,
                channel=send.channel,
                address=send.address,
                status=PENDING,
                attempts=0,
                updated_at=now,
                text=send.text,
                due_at=due,
                give_up_at=due + give_up_after,
            )
        )
        have.add((send.notice_id, send.channel))
    await session.flush()


@dataclass(frozen=True)
class Waiting:
    """What the drainer's poll has to do: notices to route, rows due, 签收 moments past."""

    to_route: bool
    due: bool
    unsigned: bool

    @property
    def any(self) -> bool:
        return self.to_route or self.due or self.unsigned


async def waiting(session: AsyncSession, now: datetime) -> Waiting:
    """One read for a poll, each question answered from its partial index."""
    row = (
        await session.execute(
            select(
                exists().where(Notice.to_route.is_(True)),
                exists().where(NoticeDelivery.status == PENDING, NoticeDelivery.due_at <= now),
                exists().where(Notice.sign_by.is_not(None), Notice.sign_by <= now),
            )
        )
    ).one()
    return Waiting(to_route=bool(row[0]), due=bool(row[1]), unsigned=bool(row[2]))


async def to_route(session: AsyncSession, limit: int) -> list[Notice]:
    """Up to ``limit`` notices waiting for their channels, locked (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL: another process routes others; SQLite's writer holds the lock): the caller
    writes their delivery rows and ``routed`` in the same transaction."""
    rows = await session.scalars(
        select(Notice)
        .where(Notice.to_route.is_(True))
        .order_by(Notice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def routed(session: AsyncSession, notice_ids: Sequence[int]) -> None:
    await session.execute(update(Notice).where(Notice.id.in_(notice_ids)).values(to_route=None))


async def claim(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[tuple[NoticeDelivery, Notice]]:
    """Up to ``limit`` rows due, each with its notice, made this caller's until ``now + lease``
    (their next due moment) and their attempt counted, committed before anything is sent. One
    UPDATE: on PostgreSQL its rows are chosen ``FOR UPDATE SKIP LOCKED`` (a row another process
    is claiming is skipped, and one it claimed is due no longer when re-read); on SQLite the
    statement holds the database's write lock. Either way no two processes claim one row."""
    due = (NoticeDelivery.status == PENDING, NoticeDelivery.due_at <= now)
    chosen = (
        select(NoticeDelivery.id)
        .where(*due)
        .order_by(NoticeDelivery.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(
        await session.scalars(
            update(NoticeDelivery)
            .where(NoticeDelivery.id.in_(chosen.scalar_subquery()), *due)
            .values(due_at=now + lease, attempts=NoticeDelivery.attempts + 1, updated_at=now)
            .returning(NoticeDelivery.id)
        )
    )
    await session.commit()
    if not ids:
        return []
    rows = await session.execute(
        select(NoticeDelivery, Notice)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(NoticeDelivery.id.in_(ids))
        .order_by(NoticeDelivery.due_at, NoticeDelivery.id)
    )
    return [(d, n) for d, n in rows.all()]


@dataclass(frozen=True)
class Sent:
    """A row's send the provider accepted: its id, its notice's, and the provider's id."""

    delivery_id: int
    notice_id: int
    provider_id: str | None


async def record_sent(session: AsyncSession, sent: Sequence[Sent], now: datetime) -> None:
    """Mark the rows ``sent`` names sent and their notices delivered (at their first channel),
    and commit: two statements for a poll's sends, not two each (a burst mails thousands)."""
    if not sent:
        return
    rows = cast(Table, NoticeDelivery.__table__)  # Core's executemany, one UPDATE per row
    await session.execute(
        update(rows)
        .where(rows.c.id == bindparam("row"))
        .values(status=SENT, delivered_at=now, updated_at=now, provider_id=bindparam("provider")),
        [{"row": s.delivery_id, "provider": s.provider_id} for s in sent],
    )
    await session.execute(
        update(Notice)
        .where(Notice.id.in_({s.notice_id for s in sent}), Notice.delivered_at.is_(None))
        .values(delivered_at=now)
    )
    await session.commit()


async def retry(
    session: AsyncSession, delivery_id: int, now: datetime, due: datetime, error: str
) -> None:
    """A transient failure: the row is due again at ``due`` (the retry's backoff)."""
    await session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id, NoticeDelivery.status == PENDING)
        .values(due_at=due, last_error=error[:2000], updated_at=now)
    )
    await session.commit()


async def fail(session: AsyncSession, delivery_id: int, now: datetime, error: str) -> None:
    """A permanent failure, not committed: the caller writes the bureau's 送达失败 with it."""
    await session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id)
        .values(status=FAILED, last_error=error[:2000], updated_at=now)
    )


# The patch signatures-watched-in-outbox: the 督办单 awaiting their 签收 are the notices'
# process's to look at, not a timer of the petition's workflow.


async def watch_signatures(
    session: AsyncSession, petition_id: str, sign_by: dict[str, datetime]
) -> None:
    """Keep on each notice (by key) the moment it must be signed for by; in the caller's
    transaction, the one that writes the notices."""
    for key, moment in sign_by.items():
        await session.execute(
            update(Notice)
            .where(Notice.petition_id == petition_id, Notice.key == key)
            .where(Notice.signed_at.is_(None))
            .values(sign_by=moment)
        )


async def unsigned_due(session: AsyncSession, now: datetime, limit: int) -> list[Notice]:
    """Up to ``limit`` notices past their 签收 moment, locked as ``to_route`` locks them; the
    caller writes their 催办 and clears ``sign_by`` (``looked_at``) in the same transaction."""
    rows = await session.scalars(
        select(Notice)
        .where(Notice.sign_by.is_not(None), Notice.sign_by <= now)
        .order_by(Notice.sign_by, Notice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def looked_at(session: AsyncSession, notice_ids: Sequence[int]) -> None:
    await session.execute(update(Notice).where(Notice.id.in_(notice_ids)).values(sign_by=None))
