"""A step's sends as one activity (issue 11, the patch deliveries-batched): each send recorded as
its provider answers, so a worker gone mid-batch leaves the sends already made on record and the
retry sends only the rest, once; a permanent failure is answered, the others still go."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities, NoticeDispatch
from domain.delivery import DeliveryChannel, Outgoing, PermanentDeliveryFailure
from domain.notice_delivery import DeliveryAttempt, DeliveryBatch, DeliveryTarget, NoticeToDeliver
from domain.vocabulary import NoticeKind
from store.models import NoticeDelivery
from store.petitions import utcnow
from tests.helpers.settings import make_settings
from tests.helpers.store import outbox_notice, register_petition
from tests.helpers.waiting import eventually

RECIPIENTS = ["dongguan-h1", "dongguan-sup", "bureau-01"]


class Mail:
    """An email channel that records each message; a message to ``hangs`` waits for ever (a
    server that took it and never answered, or a worker killed before the answer), one to
    ``refused`` is refused for good."""

    channel = DeliveryChannel.EMAIL

    def __init__(self, hangs: str = "", refused: str = "") -> None:
        self.sent: list[str] = []
        self._hangs, self._refused = hangs, refused

    async def send(self, message: Outgoing) -> str | None:
        if message.address == self._refused:
            raise PermanentDeliveryFailure("SMTP 550: no such mailbox")
        if message.address == self._hangs:
            await asyncio.Event().wait()
        self.sent.append(message.address)
        return f"<{message.dedup_key}>"


async def _batch(sessions: async_sessionmaker[Any], tmp_path: Path) -> DeliveryBatch:
    """Three notices of one step, each to its recipient's email."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    rows = [
        outbox_notice(pid, f"overdue:{who}", "overdue", (who, "handler"), "逾期通报", utcnow())
        for who in RECIPIENTS
    ]
    async with sessions() as session:
        session.add_all(rows)
        await session.commit()
    return DeliveryBatch(
        attempts=[
            DeliveryAttempt(
                notice=NoticeToDeliver(
                    notice_id=row.id,
                    petition_id=pid,
                    key=row.key,
                    kind=NoticeKind.OVERDUE,
                    recipient_id=row.recipient_id,
                    in_petition=True,
                ),
                target=DeliveryTarget(
                    channel=DeliveryChannel.EMAIL, address=f"{row.recipient_id}@qingshui.example"
                ),
            )
            for row in rows
        ]
    )


def _activities(sessions: async_sessionmaker[Any], mail: Mail) -> DeliveryActivities:
    # Neither a look-up of addresses nor a slip of its own: no address book, no dispatch.
    return DeliveryActivities(
        sessions, {DeliveryChannel.EMAIL: mail}, cast(Any, None), cast(NoticeDispatch, None)
    )


async def _statuses(sessions: async_sessionmaker[Any]) -> dict[str, tuple[str, int]]:
    async with sessions() as session:
        rows = await session.scalars(select(NoticeDelivery))
        return {row.address: (row.status, row.attempts) for row in rows}


async def test_a_batch_cut_short_sends_only_the_rest_on_its_retry(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    batch = await _batch(sessions, tmp_path)
    last = f"{RECIPIENTS[-1]}@qingshui.example"
    first = _activities(sessions, Mail(hangs=last))
    env = ActivityEnvironment()
    running = asyncio.create_task(env.run(first.deliver_notices, batch))
    # Two sent and on record while the third hangs: the worker goes (its activity cancelled).
    await eventually(
        lambda: _statuses(sessions),
        lambda found: sum(status == "sent" for status, _ in found.values()) == 2,
    )
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    retry = Mail()
    assert (
        await ActivityEnvironment().run(_activities(sessions, retry).deliver_notices, batch) == []
    )
    assert retry.sent == [last]  # nothing sent twice
    found = await _statuses(sessions)
    assert {status for status, _ in found.values()} == {"sent"}
    assert found[last] == ("sent", 2)  # tried by the batch cut short, then by its retry


async def test_a_refused_address_is_answered_and_the_others_still_go(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    batch = await _batch(sessions, tmp_path)
    refused = f"{RECIPIENTS[0]}@qingshui.example"
    mail = Mail(refused=refused)
    failed = await ActivityEnvironment().run(_activities(sessions, mail).deliver_notices, batch)
    assert [(f.notice.key, f.channel) for f in failed] == [
        (batch.attempts[0].notice.key, DeliveryChannel.EMAIL)
    ]
    assert "550" in failed[0].error
    assert sorted(mail.sent) == sorted(a.target.address for a in batch.attempts[1:])
    found = await _statuses(sessions)
    assert found[refused][0] == "failed"
