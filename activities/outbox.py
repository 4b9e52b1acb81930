"""The delivery outbox's drainer (issue 11, the patch ``deliveries-outboxed``): in the notices'
process, it routes the notices steps wrote (their channels, quiet hours and delivery rows, one
transaction), claims the delivery rows due (store/outbox.py), sends each on its channel with the
same senders and message as the send activities, and records the outcome. A transient failure
is due again after the send activities' backoff, for a day; a permanent one (or a day of
failures) marks the row failed and writes the bureau's 送达失败 with its own rows, in one
transaction. The petition's workflow runs no send: a burst of mail costs the chain's worker no
workflow task (README, "Notices and delivery").

Exactly once per notice and channel, as the activities promised: a claimed row is the claiming
process's until its lease ends, longer than a send may take; a process killed between the
provider's answer and the record leaves the row to be claimed again after the lease, and the
resend carries the same dedup key (an email's Message-ID), which is all a channel without dedup
cannot honour (README, "Exactly once")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from activities import slips
from activities.channels import Sender
from activities.delivery import NoticeDispatch
from domain.delivery import DeliveryChannel, PermanentDeliveryFailure
from domain.notice_delivery import reports_failure
from domain.vocabulary import NoticeKind, Stage
from store import outbox, petitions
from store.db import kept, lookups
from store.models import Notice, NoticeDelivery, Petition
from workflows.notice_delivery import SEND_RETRY, SEND_TIMEOUT

log = logging.getLogger("petitionflow.outbox")
# Notices routed in one transaction: on SQLite it holds the write lock while it looks them up.
ROUTE_BATCH = 20
# A case in one of these has ended, and its workflow with it: a 签收 awaited is awaited no more.
CLOSED_STAGES = frozenset({Stage.CLOSED, Stage.DECLINED, Stage.WITHDRAWN})
# How long the recorder gathers the sends that answer together before writing them.
RECORD_GATHER_SECONDS = 0.05
# How long a stopping drainer may take to record what it sent.
SHUTDOWN_RECORD_SECONDS = 5.0


async def wall_clock() -> datetime:
    return petitions.utcnow()


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: the send activities' retry policy."""
    first = SEND_RETRY.initial_interval
    wait = first * SEND_RETRY.backoff_coefficient ** max(attempts - 1, 0)
    return min(wait, SEND_RETRY.maximum_interval or wait)


class Drainer:
    """Sends the outbox's rows due, at most ``slots`` at once, looking for more every
    ``poll_seconds`` (PETITIONFLOW_NOTICE_POLL_SECONDS) and at once when a full claim suggests
    more are waiting. ``clock``: the tests' time-skipping server's time."""

    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        senders: Mapping[DeliveryChannel, Sender],
        dispatch: NoticeDispatch,
        *,
        slots: int,
        poll_seconds: float,
        lease_seconds: float,
        clock: Callable[[], Awaitable[datetime]] = wall_clock,
    ) -> None:
        self._sessions = sessions
        # Its poll is one statement: on PostgreSQL without a transaction (store.db.lookups).
        self._lookups = lookups(sessions)
        self._senders = senders
        self._dispatch = dispatch
        self._slots = slots
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        # A send never outlives its lease: past it, another process may send the row again.
        self._send_timeout = min(SEND_TIMEOUT.total_seconds(), lease_seconds / 2)
        self._clock = clock
        self._sending: set[asyncio.Task[None]] = set()
        # Sends the providers accepted, waiting to be recorded together (``_record_sent``).
        self._sent: list[outbox.Sent] = []
        self._sent_waiting = asyncio.Event()

    async def run(self) -> None:
        """Until cancelled; the sends under way are cancelled with it (their rows come back
        after the lease)."""
        recorder = asyncio.create_task(self._record_sent())
        try:
            while True:
                waiting = await self._look()
                if waiting.to_route:
                    await self._route_all()
                if waiting.unsigned:
                    await self._remind_unsigned()
                free = self._slots - len(self._sending)
                # Routing and 催办 write rows due at once: look for them too.
                claimed = await self._claim(free) if free > 0 and waiting.any else []
                for delivery, notice in claimed:
                    task = asyncio.create_task(self._send_logged(delivery, notice))
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
                if free > 0 and len(claimed) == free:
                    continue  # a full claim: more may be due
                if free <= 0:  # every slot sending: look again once one is free
                    await asyncio.wait(
                        self._sending, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED
                    )
                else:
                    await asyncio.sleep(self._poll)
        finally:
            for task in self._sending:
                task.cancel()
            recorder.cancel()
            await asyncio.wait([recorder])  # its batch back in the list if it was writing it
            # What was sent is recorded before the process goes, not sent again after the lease.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._record_batch(), SHUTDOWN_RECORD_SECONDS)

    async def _record_sent(self) -> None:
        """Records the sends the providers accepted, those that answered within
        RECORD_GATHER_SECONDS of each other (and while the last record was written) in one
        transaction: two statements for a burst's poll, not two a mail (the notices' process's
        database work is the chain's too, on the same cores). A send is recorded moments after
        its answer; a process killed in between sends it again after the lease, with its dedup
        key, as one killed just before the record always did."""
        while True:
            await self._sent_waiting.wait()
            # A moment for the sends under way to answer too: mail answers one by one, and a
            # transaction for each answer cost more than the mail (measured: 7 ms a record).
            await asyncio.sleep(RECORD_GATHER_SECONDS)
            try:
                await self._record_batch()
            except Exception:  # the database away: the batch is kept and tried again
                log.exception("could not record %d sends; trying again", len(self._sent))
                await asyncio.sleep(self._poll)

    async def _record_batch(self) -> None:
        self._sent_waiting.clear()
        batch, self._sent = self._sent, []
        try:
            async with self._sessions() as session:
                await outbox.record_sent(session, batch, await self._clock())
        except BaseException:
            self._sent[:0] = batch
            self._sent_waiting.set()
            raise

    async def _look(self) -> outbox.Waiting:
        """What a poll has to do, in one read (on SQLite a reader takes no write lock): an idle
        drainer's polls never queue behind, nor hold up, the store's writers, and cost one
        query each (three had been a fifth of the notices' process's CPU in a burst)."""
        try:
            now = await self._clock()
            async with self._lookups() as session:
                return await outbox.waiting(session, now)
        except Exception:  # the database away: tried again at the next poll
            log.exception("could not look at the outbox; trying again")
            return outbox.Waiting(to_route=False, due=False, unsigned=False)

    async def _claim(self, limit: int) -> list[tuple[NoticeDelivery, Notice]]:
        try:
            now = await self._clock()
            async with self._sessions() as session:
                return await outbox.claim(session, now, self._lease, limit)
        except Exception:  # the database away: tried again at the next poll
            log.exception("could not claim the outbox's rows due; trying again")
            return []

    async def _route_all(self) -> None:
        try:
            while await self._route() == ROUTE_BATCH:
                continue  # a burst: route it all before sending, each batch a transaction
        except Exception:  # the database away, or a look-up failing: tried again later
            log.exception("could not route the outbox's new notices; trying again")

    async def _route(self) -> int:
        """The notices steps wrote since the last poll: their channels looked up and their
        delivery rows written, and the notices marked routed, in one transaction; here, in the
        notices' process, not on the chain's (README, "Notices and delivery")."""
        async with self._sessions() as session:
            found = await outbox.to_route(session, ROUTE_BATCH)
            await self._dispatch.route_written(session, found)
            await outbox.routed(session, [notice.id for notice in found])
            await session.commit()
        return len(found)

    async def _remind_unsigned(self) -> None:
        """The patch signatures-watched-in-outbox: each 督办单 past its 签收 moment and not
        signed for brings its 催办 and the bureau's copy, written with their delivery rows in the
        transaction that marks it looked at; one signed meanwhile, or whose case has closed
        (its workflow would have stopped waiting), brings none."""
        try:
            now = await self._clock()
            async with self._sessions() as session:
                due = await outbox.unsigned_due(session, now, ROUTE_BATCH)
                unsigned = []
                for notice in due:
                    petition = await kept(session, Petition, notice.petition_id)
                    closed = petition is None or petition.stage in CLOSED_STAGES
                    if notice.signed_at is None and not closed:
                        unsigned.append(notice)
                written = await slips.sign_reminders_of(session, unsigned)
                await self._dispatch.route_written(session, written)
                await outbox.looked_at(session, [notice.id for notice in due])
                await session.commit()
        except Exception:  # the database away: tried again at the next poll
            log.exception("could not look at the 督办单 awaiting 签收; trying again")

    async def _send_logged(self, delivery: NoticeDelivery, notice: Notice) -> None:
        try:
            await self._send(delivery, notice)
        except Exception:  # the outcome not recorded (the database away): sent after the lease
            log.exception("delivery %s of notice %s not recorded", delivery.id, notice.id)

    async def _send(self, delivery: NoticeDelivery, notice: Notice) -> None:
        channel = DeliveryChannel(delivery.channel)
        sender = self._senders.get(channel)
        try:
            if sender is None:  # this process has no sender for it: left to one that has
                raise RuntimeError(f"no {channel.value} sender in this process")
            message = slips.outgoing(notice, channel, delivery.address, delivery.text)
            provider_id = await asyncio.wait_for(sender.send(message), self._send_timeout)
        except PermanentDeliveryFailure as exc:
            log.warning("notice %s not delivered by %s: permanent failure", notice.id, channel)
            await self._failed(delivery, notice, str(exc))
        except Exception as exc:  # transient, or unforeseen: retried with backoff either way
            now = await self._clock()
            error = f"{type(exc).__name__}: {exc}"
            if delivery.give_up_at is not None and now >= delivery.give_up_at:
                await self._failed(delivery, notice, error)  # a day of failures
                return
            async with self._sessions() as session:
                due = now + backoff(delivery.attempts)
                await outbox.retry(session, delivery.id, now, due, error)
        else:
            self._sent.append(outbox.Sent(delivery.id, notice.id, provider_id))
            self._sent_waiting.set()

    async def _failed(self, delivery: NoticeDelivery, notice: Notice, error: str) -> None:
        """The row failed for good and, in the same transaction, the bureau's 送达失败 with its
        own delivery rows (a 送达失败 that fails is not reported again)."""
        channel = DeliveryChannel(delivery.channel)
        async with self._sessions() as session:
            await outbox.fail(session, delivery.id, await self._clock(), error)
            if reports_failure(NoticeKind(notice.kind)):
                told = await slips.undelivered(session, notice, channel, error)
                if told is None:
                    log.error("notice %s undelivered and nobody at the bureau to tell", notice.id)
                else:
                    await self._dispatch.route_written(session, [told])
            await session.commit()
