"""Delivering notices (送达, issue 11): starting one NoticeDelivery workflow per notice written,
and the activities it runs — where a notice goes, one send on one channel (exactly once per
notice and channel, as far as the channel allows), and the slips a delivery writes itself."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities import slips
from activities.channels import Sender
from activities.slips import outgoing, sign_reminders
from domain.calendar import WorkdayCalendar, china_calendar
from domain.contracts import StepRecord
from domain.delivery import DeliveryChannel, PermanentDeliveryFailure
from domain.notice_delivery import (
    DELIVER_NOTICE,
    DELIVER_NOTICES,
    DELIVERY_TARGETS,
    NOTICE_DELIVERY_WORKFLOW,
    PERMANENT_FAILURE,
    REMIND_UNSIGNED,
    REMIND_UNSIGNED_AND_SEND,
    REPORT_UNDELIVERED,
    DeliveryAttempt,
    DeliveryBatch,
    DeliveryTarget,
    NoticeRoute,
    NoticeToDeliver,
    SendsLeft,
    Undelivered,
    needs_signature,
    notice_workflow_id,
)
from domain.policy import BEIJING, EscalationPolicy, PolicyBook
from domain.quiet_hours import quiet_hours_apply, release_at
from domain.vocabulary import NoticeKind, Role
from store import contacts, notices, outbox, petitions
from store.db import kept, readers
from store.models import Notice, NoticeDelivery, Petition
from workflows.notice_delivery import GIVE_UP_AFTER

log = logging.getLogger("petitionflow.delivery")
# How long the answer "does any unit have a group robot?" is trusted before it is read again.
ROBOTS_RECHECK_SECONDS = 30.0


class AddressBook(Protocol):
    """Where a notice goes besides the inbox: its recipient's channels and addresses."""

    async def targets(self, session: AsyncSession, notice: Notice) -> list[DeliveryTarget]: ...


class DirectoryAddresses:
    """The directory's contact channels (store.contacts.routes_for): the recipient's email and
    mobile as routing chooses them, the unit's group robots, the petitioner's SMS; each held
    until the recipient's quiet hours end (domain.quiet_hours), on a production clock only."""

    def __init__(self, clock: Callable[[], datetime] = petitions.utcnow) -> None:
        self._clock = clock  # the tests' fixed hour of the day

    async def targets(self, session: AsyncSession, notice: Notice) -> list[DeliveryTarget]:
        found = await contacts.routes_for(session, notice)
        if not found.routes:
            return []
        petition = await kept(session, Petition, notice.petition_id)
        quiet = found.quiet_hours
        if petition is None or not quiet_hours_apply(_day_seconds(petition)):
            quiet = None
        now = self._clock()
        release = release_at(
            now,
            NoticeKind(notice.kind),
            Role(notice.recipient_role),
            quiet,
            _working_days(now.astimezone(BEIJING).year),
        )
        return [
            DeliveryTarget(
                channel=route.channel,
                address=route.address,
                text=route.text if route.text != notice.text else None,
                not_before=release if release != now else None,
            )
            for route in found.routes
        ]


@functools.lru_cache(maxsize=4)
def _working_days(year: int) -> WorkdayCalendar:
    """The holiday tables of this year and the next (a morning after New Year's Eve)."""
    return china_calendar(range(year, year + 2))


class NoticeDispatch:
    """Where written notices go. Since the patch ``deliveries-in-workflow`` the petition's own
    workflow sends them: ``routes`` answers ``record_step`` with each notice's targets. Older
    petitions start one workflow per notice (``dispatch``), whose id (petition number and key)
    makes a second start a no-op, so a retried record starts them all again harmlessly."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        sessions: async_sessionmaker[Any],
        *,
        channels_on: bool,
        robots_on: bool = False,
        addresses: AddressBook | None = None,
        senders: Collection[DeliveryChannel] = (),
    ) -> None:
        self._client = client
        self.task_queue = task_queue
        self._sessions = sessions
        # Without a channel only a 督办单 has anything to do (wait for 签收): the others stay
        # in the inbox and start nothing. ``channels_on``: email or SMS is configured;
        # ``robots_on``: robots may post, when some unit has given its group's robot.
        self._channels_on = channels_on
        self._robots_on = robots_on
        self._robots_seen: tuple[float, bool] | None = None
        # Where each notice goes (the workflow's routes): the channels this deployment sends on.
        self._addresses = addresses
        self._senders = frozenset(senders)

    async def _sending(self, within: AsyncSession | None = None) -> bool:
        """Whether a notice may go anywhere besides the inbox. Whether any unit has a robot is
        read again after ROBOTS_RECHECK_SECONDS, so a robot the bureau adds is used soon.

        ``within``: the caller's session, whose transaction is open; the read is made in it.
        A session of its own would need a second connection from the pool while the caller's
        holds the write lock (SQLite's; the drainer's rows on PostgreSQL): under load every
        other connection of the pool waits for that lock, and the two waited on each other
        until the pool's 30 s timeout (a stall of both processes at concurrency 32, issue 9)."""
        if self._channels_on or not self._robots_on:
            return self._channels_on
        now = time.monotonic()
        if self._robots_seen is None or now - self._robots_seen[0] > ROBOTS_RECHECK_SECONDS:
            if within is not None:
                self._robots_seen = (now, await contacts.any_unit_robots(within))
            else:
                # A reader: on SQLite it takes no write lock.
                async with readers(self._sessions)() as session:
                    self._robots_seen = (now, await contacts.any_unit_robots(session))
        return self._robots_seen[1]

    async def _to_deliver(
        self,
        session: AsyncSession,
        petition_id: str,
        kinds: Mapping[str, NoticeKind],
        *,
        sending: bool,
        in_petition: bool,
        outboxed: bool = False,
    ) -> list[tuple[Notice, NoticeToDeliver]]:
        """The notices ``kinds`` names (key → kind) with somewhere to go or a 签收 to wait for."""
        rows = await notices.of_record(session, petition_id, kinds)
        petition = await kept(session, Petition, petition_id)
        sign_within = None
        found = []
        for row in rows:
            kind = NoticeKind(row.kind)
            signs = needs_signature(kind)
            if not (sending or signs):
                continue
            if signs and sign_within is None and petition is not None:
                sign_within = _sign_within(petition)
            notice = NoticeToDeliver(
                notice_id=row.id,
                petition_id=petition_id,
                key=row.key,
                kind=kind,
                recipient_id=row.recipient_id,
                sign_within=sign_within if signs else None,
                in_petition=in_petition,
                outboxed=outboxed,
            )
            found.append((row, notice))
        return found

    async def routes(self, petition_id: str, kinds: Mapping[str, NoticeKind]) -> list[NoticeRoute]:
        """The notices ``kinds`` names, each with the channels it goes out on (those its
        recipient has an address for and this deployment a sender for), for the petition's
        workflow to send: found where they were written, no look-up round trip of their own."""
        sending = await self._sending()
        if not (sending or any(needs_signature(k) for k in kinds.values())):
            return []  # nothing to send, nothing to wait for: spare the database a read
        found = []
        async with self._sessions() as session:
            for row, notice in await self._to_deliver(
                session, petition_id, kinds, sending=sending, in_petition=True
            ):
                targets = []
                if sending and self._addresses is not None:
                    every = await self._addresses.targets(session, row)
                    targets = [t for t in every if t.channel in self._senders]
                if targets or notice.sign_within is not None:
                    found.append(NoticeRoute(notice=notice, targets=targets))
        return found

    async def waits(
        self, session: AsyncSession, petition_id: str, kinds: Mapping[str, NoticeKind]
    ) -> list[NoticeRoute]:
        """Since the patch ``deliveries-outboxed``, ``record_step``'s answer: only the 签收 the
        workflow waits for (its 督办单), no channel; no read at all for a step without one."""
        signs = {key: kind for key, kind in kinds.items() if needs_signature(kind)}
        if not signs:
            return []
        found = await self._to_deliver(
            session, petition_id, signs, sending=False, in_petition=True, outboxed=True
        )
        return [NoticeRoute(notice=notice, targets=[]) for _, notice in found]

    async def outbox(
        self, session: AsyncSession, petition_id: str, kinds: Mapping[str, NoticeKind]
    ) -> None:
        """Since the patch ``deliveries-outboxed``: the delivery rows of the notices ``kinds``
        names (a slip the notices' process or a delivery activity writes itself), added in the
        caller's transaction for the drainer to send."""
        if self._addresses is None or not await self._sending(session):
            return  # nothing to send: spare the database a read
        await self.route_written(session, await notices.of_record(session, petition_id, kinds))

    async def watch_signatures(
        self,
        session: AsyncSession,
        record: StepRecord,
        written: Collection[str],
        *,
        after: datetime | None = None,
    ) -> None:
        """The patch signatures-watched-in-outbox: each 督办单 of ``record`` among the keys
        ``written`` keeps the moment it must be signed for by (the step's time, on the
        workflow's clock, plus the policy's ``sign_for_days``), for the notices' process; in
        the caller's transaction. ``after``: only moments later than it (a rebuild: whether an
        earlier one was signed for, and its 催办, lived in the database only)."""
        kinds = {n.key: n.kind for n in record.notices if n.key in written}
        sign_by = {
            wait.notice.key: record.event.at + wait.notice.sign_within
            for wait in await self.waits(session, record.state.id, kinds)
            if wait.notice.sign_within is not None
        }
        if after is not None:
            sign_by = {key: moment for key, moment in sign_by.items() if moment > after}
        await outbox.watch_signatures(session, record.state.id, sign_by)

    async def route_written(self, session: AsyncSession, rows: Sequence[Notice]) -> None:
        """The drainer's routing of notices it holds, of any petitions: their delivery rows
        added in the caller's transaction, written together (``outbox`` without the 签收 it
        answers the workflow, which nobody waits for here)."""
        if self._addresses is None or not rows or not await self._sending(session):
            return
        sends = [
            outbox.Send(row.id, t.channel.value, t.address, t.text, t.not_before)
            for row in rows
            for t in await self._addresses.targets(session, row)
            if t.channel in self._senders
        ]
        await outbox.put(session, sends, petitions.utcnow(), GIVE_UP_AFTER)

    async def dispatch(self, petition_id: str, kinds: Mapping[str, NoticeKind]) -> None:
        """Start the delivery workflow of each notice ``kinds`` names (before the patch)."""
        sending = await self._sending()
        if not (sending or any(needs_signature(k) for k in kinds.values())):
            return  # nothing to send, nothing to wait for: spare the database a read
        async with self._sessions() as session:
            found = await self._to_deliver(
                session, petition_id, kinds, sending=sending, in_petition=False
            )
        for row, notice in found:
            try:
                await self._client.start_workflow(
                    NOTICE_DELIVERY_WORKFLOW,
                    notice,
                    id=notice_workflow_id(petition_id, row.key),
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    # A delivery done is done: a later start (a retried record) sends nothing.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                continue


def _day_seconds(petition: Petition) -> float:
    """The length of the petition's policy day (its deployment's), read without building its
    policy: routing asks it of every notice."""
    return float(petition.policy.get("day_seconds", 86400))


# Each petition's 签收 window, by number, policy version and day: the petition's policy is its
# own copy, fixed at registration, and building it from its JSON (pydantic) was the dearest
# part of recording a step with a 督办单 on the chain's worker. Bounded: cleared when full.
_sign_windows: dict[tuple[str, str, float], timedelta] = {}
SIGN_WINDOWS_KEPT = 4096


def _sign_within(petition: Petition) -> timedelta:
    key = (petition.id, petition.policy_version, _day_seconds(petition))
    window = _sign_windows.get(key)
    if window is None:
        if len(_sign_windows) >= SIGN_WINDOWS_KEPT:
            _sign_windows.clear()
        policy = _policy(petition)
        window = _sign_windows[key] = policy.duration(policy.sign_for_days)
    return window


def _policy(petition: Petition) -> EscalationPolicy:
    """The policy the petition runs on (its own copy of the book, its deployment's day)."""
    day_seconds = _day_seconds(petition)
    book = petition.policy.get("book")
    if not book:
        return EscalationPolicy(day_seconds=day_seconds)
    return PolicyBook.model_validate(book).policy_for(
        petition.unit_id or "", petition.category, day_seconds
    )


class DeliveryActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        senders: Mapping[DeliveryChannel, Sender],
        addresses: AddressBook,
        dispatch: NoticeDispatch,
    ) -> None:
        self._sessions = sessions
        self._senders = senders
        self._addresses = addresses
        self._dispatch = dispatch

    @activity.defn(name=DELIVERY_TARGETS)
    async def delivery_targets(self, notice: NoticeToDeliver) -> list[DeliveryTarget]:
        """The channels this notice goes out on: those its recipient has an address for and
        this deployment has a sender for."""
        async with self._sessions() as session:
            row = await _the_notice(session, notice)
            found = await self._addresses.targets(session, row)
        return [t for t in found if t.channel in self._senders]

    @activity.defn(name=DELIVER_NOTICE)
    async def deliver_notice(self, attempt: DeliveryAttempt) -> None:
        """One send, recorded: the row is read before sending (sent already: nothing is sent
        again) and written after. Between the provider's answer and the record lies the one
        gap a crash can fall into; the resend carries the same dedup key (README)."""
        channel, now = attempt.target.channel, petitions.utcnow()
        async with self._sessions() as session:
            notice = await _the_notice(session, attempt.notice)
            row = await notices.attempt(
                session, notice.id, channel.value, attempt.target.address, now
            )
        await self._send_recorded(notice, row, attempt.target)

    @activity.defn(name=DELIVER_NOTICES)
    async def deliver_notices(self, batch: DeliveryBatch) -> list[Undelivered]:
        """A step's sends as one activity (the patch ``deliveries-batched``): every (notice,
        channel) row written before in one transaction, the sends at once, each recorded as soon
        as its provider answers, so a crash mid-batch leaves the same one-message gap as a
        single send and a retry skips what was sent. Answers the permanent failures (the
        workflow tells the bureau); a transient one fails the activity, retried with backoff."""
        failed, transient = await self._send_all(batch.attempts)
        if transient:
            raise transient[0][1]
        return failed

    async def _send_all(
        self, attempts: list[DeliveryAttempt]
    ) -> tuple[list[Undelivered], list[tuple[DeliveryAttempt, BaseException]]]:
        """``attempts`` (one petition's) sent at once: the permanent failures, and the transient
        ones with their errors."""
        if not attempts:
            return [], []
        wanted = [(a.notice.key, a.target.channel.value, a.target.address) for a in attempts]
        async with self._sessions() as session:
            rows = await notices.attempts(
                session, attempts[0].notice.petition_id, wanted, petitions.utcnow()
            )
        outcomes = await asyncio.gather(
            *(
                self._send_recorded(notice, row, attempt.target)
                for (notice, row), attempt in zip(rows, attempts, strict=True)
            ),
            return_exceptions=True,
        )
        failed, transient = [], []
        for attempt, outcome in zip(attempts, outcomes, strict=True):
            if isinstance(outcome, ApplicationError) and outcome.type == PERMANENT_FAILURE:
                failed.append(
                    Undelivered(
                        notice=attempt.notice, channel=attempt.target.channel, error=str(outcome)
                    )
                )
            elif isinstance(outcome, BaseException):
                transient.append((attempt, outcome))
        return failed, transient

    @activity.defn(name=REMIND_UNSIGNED_AND_SEND)
    async def remind_unsigned_and_send(self, notice: NoticeToDeliver) -> SendsLeft:
        """``remind_unsigned`` and, in the same activity, the first try of its slips' sends (the
        patch ``deliveries-batched``): no activity and workflow task of their own. What could not
        go at once (held by quiet hours, or failed for now) comes back for the workflow to send
        with its retries; what failed for good, for it to tell the bureau."""
        routes = await self.remind_unsigned(notice)
        now = petitions.utcnow()
        ready = [
            DeliveryAttempt(notice=route.notice, target=target)
            for route in routes
            for target in route.targets
            if target.not_before is None or target.not_before <= now
        ]
        failed, transient = await self._send_all(ready)
        left = [
            route.model_copy(update={"targets": held})
            for route in routes
            if (held := [t for t in route.targets if t.not_before and t.not_before > now])
            or route.notice.sign_within is not None
        ]
        left += [NoticeRoute(notice=a.notice, targets=[a.target]) for a, _ in transient]
        return SendsLeft(routes=left, failed=failed)

    async def _send_recorded(
        self, notice: Notice, row: NoticeDelivery, target: DeliveryTarget
    ) -> None:
        """Send ``notice`` on ``row``'s channel unless it went already; record the outcome."""
        channel = target.channel
        if row.status == notices.SENT:
            return
        if row.status == notices.FAILED:
            raise ApplicationError(
                row.last_error or "failed", type=PERMANENT_FAILURE, non_retryable=True
            )
        message = outgoing(notice, channel, target.address, target.text)
        try:
            provider_id = await _heartbeating(self._senders[channel].send(message))
        except PermanentDeliveryFailure as exc:
            await self._record(notice.id, channel, status=notices.FAILED, error=str(exc))
            log.warning("notice %s not delivered by %s: permanent failure", notice.id, channel)
            raise ApplicationError(str(exc), type=PERMANENT_FAILURE, non_retryable=True) from exc
        except Exception as exc:  # transient, or unforeseen: retried with backoff either way
            await self._record(
                notice.id, channel, status=notices.PENDING, error=f"{type(exc).__name__}: {exc}"
            )
            raise
        await self._record(notice.id, channel, status=notices.SENT, provider_id=provider_id)

    async def _record(self, notice_id: int, channel: DeliveryChannel, **outcome: Any) -> None:
        async with self._sessions() as session:
            await notices.record(session, notice_id, channel.value, petitions.utcnow(), **outcome)

    @activity.defn(name=REPORT_UNDELIVERED)
    async def report_undelivered(self, failure: Undelivered) -> list[NoticeRoute]:
        """送达失败: a notice to the bureau that the slip did not arrive (once per channel); its
        route, for the petition's workflow to send (the notice workflow ignores the answer)."""
        async with self._sessions() as session:
            original = await _the_notice(session, failure.notice)
            went = await notices.deliveries_of(session, [original.id])
            if any(
                d.channel == failure.channel.value and d.status == notices.SENT
                for d in went[original.id]
            ):
                return []  # a batch given up on reports every send: this one went out
            written = await slips.undelivered(session, original, failure.channel, failure.error)
            if written is None:
                log.error("notice %s undelivered and nobody at the bureau to tell", original.id)
                return []
            await session.commit()
        return await self._deliver(failure.notice, {written.key: NoticeKind.UNDELIVERED})

    async def _deliver(
        self, original: NoticeToDeliver, kinds: Mapping[str, NoticeKind]
    ) -> list[NoticeRoute]:
        """The slips a delivery wrote: routed back to the petition's workflow that delivers
        ``original``, or each started as a workflow of its own (before the patch)."""
        if original.in_petition:
            return await self._dispatch.routes(original.petition_id, kinds)
        await self._dispatch.dispatch(original.petition_id, kinds)
        return []

    @activity.defn(name=REMIND_UNSIGNED)
    async def remind_unsigned(self, notice: NoticeToDeliver) -> list[NoticeRoute]:
        """催办 of a 督办单 not signed for: to the same person, and a copy to the bureau, with
        their routes (as ``report_undelivered``); outboxed, written with their delivery rows
        and no route. Nothing when it was signed meanwhile."""
        async with self._sessions() as session:
            original = await _the_notice(session, notice)
            if original.signed_at is not None:
                return []
            kinds = await sign_reminders(session, original)
            if notice.outboxed:  # the slips and their delivery rows in one transaction
                await self._dispatch.outbox(session, notice.petition_id, kinds)
            await session.commit()
        return [] if notice.outboxed else await self._deliver(notice, kinds)


# A send beats while it waits on the provider: a worker killed mid-send is noticed within the
# workflow's heartbeat timeout, and its send retried elsewhere, not after the whole send timeout.
HEARTBEAT_SECONDS = 2.0


async def _heartbeating(send: Coroutine[Any, Any, str | None]) -> str | None:
    task = asyncio.ensure_future(send)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)
        if done:
            return task.result()
        activity.heartbeat()


async def _the_notice(session: AsyncSession, notice: NoticeToDeliver) -> Notice:
    """The notice's row by petition and key: ids change when the read model is rebuilt."""
    row = await notices.by_key(session, notice.petition_id, notice.key)
    if row is None:  # not written yet, or the read model being rebuilt: retried
        raise LookupError(f"no notice {notice.key} of {notice.petition_id}")
    return row
