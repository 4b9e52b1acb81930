"""Notices in their recipients' inboxes (站内待办) and on their channels (issue 11): 签收, the
record of each delivery, and the slips a delivery writes itself (催办 of an unsigned 督办单,
送达失败), each once by its key like the chain's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Notice, NoticeDelivery

PENDING, SENT, FAILED = "pending", "sent", "failed"  # domain.notice_delivery.DeliveryStatus


async def inbox(
    session: AsyncSession, person_id: str, *, kind: str | None, limit: int, offset: int
) -> tuple[list[Notice], int]:
    """A person's notices: unsigned first, then newest first."""
    conditions = [Notice.recipient_id == person_id]
    if kind is not None:
        conditions.append(Notice.kind == kind)
    total = await session.scalar(select(func.count()).select_from(Notice).where(*conditions))
    rows = await session.scalars(
        select(Notice)
        .where(*conditions)
        .order_by(Notice.signed_at.is_not(None), Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def sign(
    session: AsyncSession, notice_id: int, person_id: str, now: datetime
) -> Notice | None:
    """签收 by its recipient, once: a second call finds the first time. None: no such notice in
    this person's inbox (someone else's is not theirs to sign, nor to learn of)."""
    notice = await session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.recipient_id != person_id:
        return None
    if notice.signed_at is None:
        notice.signed_at = now
        await session.commit()
    return notice


async def signed(session: AsyncSession, petition_id: str) -> list[Notice]:
    """A petition's slips signed for (签收), for its timeline."""
    rows = await session.scalars(
        select(Notice)
        .where(Notice.petition_id == petition_id, Notice.signed_at.is_not(None))
        .order_by(Notice.signed_at)
    )
    return list(rows)


async def deliveries_of(
    session: AsyncSession, notice_ids: Iterable[int]
) -> dict[int, list[NoticeDelivery]]:
    ids = list(notice_ids)
    found: dict[int, list[NoticeDelivery]] = defaultdict(list)
    if ids:
        rows = await session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.notice_id.in_(ids))
            .order_by(NoticeDelivery.id)
        )
        for row in rows:
            found[row.notice_id].append(row)
    return found


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    channel: str | None = None
    petition_id: str | None = None
    recipient_id: str | None = None


async def delivery_status(
    session: AsyncSession, filters: DeliveryFilter, *, limit: int, offset: int
) -> tuple[list[tuple[NoticeDelivery, Notice]], int]:
    """Every notice's deliveries (the bureau's view), newest first."""
    conditions = []
    if filters.status is not None:
        conditions.append(NoticeDelivery.status == filters.status)
    if filters.channel is not None:
        conditions.append(NoticeDelivery.channel == filters.channel)
    if filters.petition_id is not None:
        conditions.append(Notice.petition_id == filters.petition_id)
    if filters.recipient_id is not None:
        conditions.append(Notice.recipient_id == filters.recipient_id)
    joined = select(NoticeDelivery, Notice).join(Notice, Notice.id == NoticeDelivery.notice_id)
    total = await session.scalar(
        select(func.count())
        .select_from(NoticeDelivery)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(*conditions)
    )
    rows = await session.execute(
        joined.where(*conditions).order_by(NoticeDelivery.id.desc()).limit(limit).offset(offset)
    )
    return [(d, n) for d, n in rows.all()], int(total or 0)


async def of_record(session: AsyncSession, petition_id: str, keys: Iterable[str]) -> list[Notice]:
    """The rows of a step's notices (by their keys), in the order they were written."""
    wanted = list(keys)
    if not wanted:
        return []
    rows = await session.scalars(
        select(Notice)
        .where(Notice.petition_id == petition_id, Notice.key.in_(wanted))
        .order_by(Notice.id)
    )
    return list(rows)


async def attempt(
    session: AsyncSession, notice_id: int, channel: str, address: str, now: datetime
) -> NoticeDelivery:
    """The delivery row of a notice on a channel, its attempts counted up by one (committed
    before the send: a crash mid-send leaves the count on record). A row already sent or failed
    is returned as it is: the caller sends nothing again."""
    row = await _delivery(session, notice_id, channel)
    if row is None:
        try:
            async with session.begin_nested():
                session.add(
                    NoticeDelivery(
                        notice_id=notice_id,
                        channel=channel,
                        address=address,
                        status=PENDING,
                        attempts=0,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # the same delivery started at once elsewhere: use its row
        row = await _delivery(session, notice_id, channel)
        assert row is not None
    if row.status == PENDING:
        row.attempts += 1
        row.address = address
        row.updated_at = now
    await session.commit()
    return row


async def attempts(
    session: AsyncSession, petition_id: str, wanted: list[tuple[str, str, str]], now: datetime
) -> list[tuple[Notice, NoticeDelivery]]:
    """``attempt`` for a step's sends at once (each a key, channel and address), in one
    transaction rather than one each: the notice and its delivery row, in ``wanted``'s order. A
    notice not written yet raises LookupError (retried); a row inserted at the same moment
    elsewhere falls back to ``attempt``, one by one."""
    found = {n.key: n for n in await of_record(session, petition_id, {k for k, _, _ in wanted})}
    if missing := [key for key, _, _ in wanted if key not in found]:
        raise LookupError(f"no notice {missing[0]} of {petition_id}")
    ids = [notice.id for notice in found.values()]
    rows = {
        (row.notice_id, row.channel): row
        for row in await session.scalars(
            select(NoticeDelivery).where(NoticeDelivery.notice_id.in_(ids)).with_for_update()
        )
    }
    new = {
        (found[key].id, channel): NoticeDelivery(
            notice_id=found[key].id,
            channel=channel,
            address=address,
            status=PENDING,
            attempts=0,
            updated_at=now,
        )
        for key, channel, address in wanted
        if (found[key].id, channel) not in rows
    }
    if new:
        try:
            async with session.begin_nested():
                session.add_all(new.values())
        except IntegrityError:  # the same delivery started at once elsewhere: row by row
            await session.rollback()
            found = {n.key: n for n in await of_record(session, petition_id, found)}
            return [
                (found[key], await attempt(session, found[key].id, channel, address, now))
                for key, channel, address in wanted
            ]
        rows.update(new)
    for key, channel, address in wanted:
        row = rows[(found[key].id, channel)]
        if row.status == PENDING:
            row.attempts += 1
            row.address = address
            row.updated_at = now
    await session.commit()
    return [(found[key], rows[(found[key].id, channel)]) for key, channel, _ in wanted]


async def _delivery(session: AsyncSession, notice_id: int, channel: str) -> NoticeDelivery | None:
    delivery: NoticeDelivery | None = await session.scalar(
        select(NoticeDelivery)
        .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.channel == channel)
        .with_for_update()
    )
    return delivery


async def record(
    session: AsyncSession,
    notice_id: int,
    channel: str,
    now: datetime,
    *,
    status: str,
    error: str | None = None,
    provider_id: str | None = None,
) -> None:
    """The outcome of an attempt: sent (and the notice delivered, at its first channel), failed
    for good, or still pending with the last error. Two UPDATEs, no row read first: a send's
    record is one short transaction (the benchmark mails some 3,000 of them in three minutes)."""
    values: dict[str, object] = {"status": status, "updated_at": now}
    if error is not None:
        values["last_error"] = error[:2000]
    if status == SENT:
        values.update(delivered_at=now, provider_id=provider_id)
    done = await session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.channel == channel)
        .values(**values)
    )
    if not getattr(done, "rowcount", 1):
        raise LookupError(f"no delivery of notice {notice_id} on {channel}")
    if status == SENT:
        await session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.delivered_at.is_(None))
            .values(delivered_at=now)
        )
    await session.commit()


async def write_once(session: AsyncSession, notice: Notice) -> Notice:
    """Write a slip unless one with its petition and key is there; the row either way."""
    found = await add_once(session, notice)
    await session.commit()
    return found


async def add_once(session: AsyncSession, notice: Notice) -> Notice:
    """``write_once`` without the commit: the slip goes with the caller's transaction."""
    found = await by_key(session, notice.petition_id, notice.key)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        found = await by_key(session, notice.petition_id, notice.key)
        assert found is not None
        return found
    return notice


async def by_keys(
    session: AsyncSession, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Notice]:
    """The slips there of ``wanted`` (petition, key) pairs, by pair, in one query."""
    pairs = set(wanted)
    if not pairs:
        return {}
    rows = await session.scalars(
        select(Notice).where(
            Notice.petition_id.in_({pid for pid, _ in pairs}),
            Notice.key.in_({key for _, key in pairs}),
        )
    )
    found = {(row.petition_id, row.key): row for row in rows}
    return {pair: row for pair, row in found.items() if pair in pairs}


async def by_key(session: AsyncSession, petition_id: str, key: str) -> Notice | None:
    notice: Notice | None = await session.scalar(
        select(Notice).where(Notice.petition_id == petition_id, Notice.key == key)
    )
    return notice
