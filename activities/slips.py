"""The slips a delivery writes itself (送达失败 to the bureau, 催办 of an unsigned 督办单) and the
message a notice becomes on a channel: shared by the send activities (activities/delivery.py)
and the outbox's drainer (activities/outbox.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.delivery import DeliveryChannel, Outgoing
from domain.notice_delivery import (
    sign_reminder_copy_key,
    sign_reminder_copy_text,
    sign_reminder_key,
    sign_reminder_text,
    undelivered_key,
    undelivered_text,
)
from domain.vocabulary import NOTICE_LABELS, NoticeKind, Role
from store import directory, notices, petitions
from store.models import Notice


def outgoing(notice: Notice, channel: DeliveryChannel, address: str, text: str | None) -> Outgoing:
    """``notice`` as sent on ``channel``; its dedup key (an email's Message-ID) is the notice and
    channel, so a resend after a crash carries the same one (README, "Exactly once")."""
    kind = NoticeKind(notice.kind)
    return Outgoing(
        notice_id=notice.id,
        channel=channel,
        address=address,
        subject=f"【{NOTICE_LABELS.get(kind, notice.kind)}】信访事项 {notice.petition_id}",
        text=text or notice.text,
        dedup_key=f"{notice.id}:{channel.value}",
    )


async def undelivered(
    session: AsyncSession, original: Notice, channel: DeliveryChannel, error: str
) -> Notice | None:
    """送达失败: the bureau's notice that ``original`` did not arrive on ``channel``, added once
    (not committed); None when nobody at the bureau can be told."""
    bureau = await bureau_dispatcher(session)
    if bureau is None:
        return None
    text = undelivered_text(
        original.petition_id,
        NoticeKind(original.kind),
        original.recipient_name,
        channel,
        error,
    )
    key = undelivered_key(original.key, channel)
    return await notices.add_once(
        session, slip(original, key=key, kind=NoticeKind.UNDELIVERED, to=bureau, text=text)
    )


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str


async def bureau_dispatcher(session: AsyncSession) -> Recipient | None:
    """The bureau's first dispatcher (信访局交办人员): who is told what did not work. Looked up
    once a session: the drainer writes a burst's 催办 copies in one transaction."""
    if "bureau_dispatcher" not in session.info:
        session.info["bureau_dispatcher"] = await _bureau_dispatcher(session)
    found: Recipient | None = session.info["bureau_dispatcher"]
    return found


async def _bureau_dispatcher(session: AsyncSession) -> Recipient | None:
    bureau = await directory.bureau_unit_id(session)
    if bureau is None:
        return None
    holders = await directory.role_holders(session, bureau, Role.BUREAU_DISPATCHER.value)
    return Recipient(id=holders[0][0].id, name=holders[0][0].name) if holders else None


def slip(
    original: Notice,
    *,
    key: str,
    kind: NoticeKind,
    to: Recipient,
    text: str,
    role: str = Role.BUREAU_DISPATCHER.value,
) -> Notice:
    return Notice(
        petition_id=original.petition_id,
        key=key,
        kind=kind.value,
        level=original.level,
        recipient_id=to.id,
        recipient_name=to.name,
        recipient_role=role,
        text=text,
        created_at=petitions.utcnow(),
    )


async def sign_reminders(session: AsyncSession, original: Notice) -> dict[str, NoticeKind]:
    """催办 of the 督办单 ``original``, not signed for in time: to the same person, and a copy to
    the bureau, each added once (not committed); answers their keys and kind, for the caller to
    send (the send activities, before the patch signatures-watched-in-outbox)."""
    written = [
        await notices.add_once(session, reminder)
        for reminder in _sign_reminder_slips(original, await bureau_dispatcher(session))
    ]
    return dict.fromkeys((row.key for row in written), NoticeKind.SIGN_REMINDER)


async def sign_reminders_of(session: AsyncSession, originals: Sequence[Notice]) -> list[Notice]:
    """``sign_reminders`` of a poll's 督办单 at once, for the notices' process: the slips there
    already read in one query, the others added in one flush (not committed), without a
    savepoint each. The caller holds the 督办单 locked and marks them looked at in the same
    transaction, so nobody else writes these 催办; were one written anyway, the commit fails
    and the next poll finds it. Answers the slips, found or added."""
    bureau = await bureau_dispatcher(session)
    wanted = [row for original in originals for row in _sign_reminder_slips(original, bureau)]
    there = await notices.by_keys(session, [(row.petition_id, row.key) for row in wanted])
    written = []
    for row in wanted:
        found = there.get((row.petition_id, row.key))
        if found is None:
            session.add(row)
            found = row
        written.append(found)
    await session.flush()
    return written


def _sign_reminder_slips(original: Notice, bureau: Recipient | None) -> list[Notice]:
    """The 催办 to the 督办单's recipient, and the bureau's copy when it is someone else."""
    pid, name = original.petition_id, original.recipient_name
    recipient = Recipient(id=original.recipient_id, name=name)
    reminder = slip(
        original,
        key=sign_reminder_key(original.key),
        kind=NoticeKind.SIGN_REMINDER,
        to=recipient,
        role=original.recipient_role,
        text=sign_reminder_text(pid, name, original.created_at),
    )
    if bureau is None or bureau.id == original.recipient_id:
        return [reminder]
    role = Role(original.recipient_role) if original.recipient_role in _ROLES else None
    copy = slip(
        original,
        key=sign_reminder_copy_key(original.key),
        kind=NoticeKind.SIGN_REMINDER,
        to=bureau,
        text=sign_reminder_copy_text(pid, name, role),
    )
    return [reminder, copy]


_ROLES = {role.value for role in Role}
