"""The delivery outbox (issue 11, the patch deliveries-outboxed), on SQLite and PostgreSQL: the
rows a step's record writes with its notices, in one transaction; their drainers, however many,
send each row once; a row claimed by a drainer that died goes again after its lease, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from activities.delivery import DirectoryAddresses, NoticeDispatch
from activities.outbox import Drainer
from activities.petition import PetitionActivities
from activities.upload import DirectoryUpstream
from domain.delivery import DeliveryChannel, Outgoing
from domain.notice_delivery import DeliveryTarget, StepWritten
from domain.vocabulary import NoticeKind
from store import outbox, petitions
from store.db import readers
from store.models import Notice as NoticeRow
from store.models import NoticeDelivery
from store.petitions import utcnow
from tests.helpers.settings import make_settings
from tests.helpers.store import outbox_notice, register_petition
from tests.helpers.waiting import at_once, eventually
from tests.store.test_slip_numbers import step

ROWS = 24
# Polls a test lets a drainer make to show that nothing happens (waited for, not slept).
POLLS = 10


class Mail:
    """An email channel recording each message's dedup key; ``hangs``: every send waits for
    ever (a process killed before its provider answered)."""

    channel = DeliveryChannel.EMAIL

    def __init__(self, *, hangs: bool = False) -> None:
        self.sent: list[str] = []
        self._hangs = hangs

    async def send(self, message: Outgoing) -> str | None:
        await asyncio.sleep(0.01)  # a provider's answer takes a while: claims overlap
        if self._hangs:
            await asyncio.Event().wait()
        self.sent.append(message.dedup_key)
        return f"<{message.dedup_key}>"


class Clock:
    """The drainer's time, set by the test; ``reads``: how often a drainer looked (each poll
    reads it), so a test waits for polls rather than for the wall clock."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.reads = 0

    async def __call__(self) -> datetime:
        self.reads += 1
        return self.now


async def _rows(sessions: async_sessionmaker[Any], tmp_path: Path) -> None:
    """``ROWS`` notices of one petition, each with its email row in the outbox, due now."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    async with sessions() as session:
        rows = [
            outbox_notice(
                pid, f"overdue:{n}", "overdue", ("dongguan-h1", "handler"), "逾期", utcnow()
            )
            for n in range(ROWS)
        ]
        session.add_all(rows)
        await session.flush()
        sends = [outbox.Send(r.id, "email", f"{r.id}@qingshui.example", None, None) for r in rows]
        await outbox.put(session, sends, utcnow() - timedelta(seconds=1), timedelta(days=1))
        await session.commit()


def _drainer(
    sessions: async_sessionmaker[Any], mail: Mail, clock: Any = None, slots: int = 4
) -> Drainer:
    extra = {"clock": clock} if clock is not None else {}
    return Drainer(
        sessions,
        {DeliveryChannel.EMAIL: mail},
        NoticeDispatch(None, "", sessions, channels_on=True),  # type: ignore[arg-type]
        slots=slots,
        poll_seconds=0.02,
        lease_seconds=60.0,
        **extra,
    )


async def _statuses(session: AsyncSession) -> list[tuple[str, int]]:
    return [(d.status, d.attempts) for d in await session.scalars(select(NoticeDelivery))]


async def _sent(sessions: async_sessionmaker[Any]) -> int:
    async with sessions() as session:
        query = select(func.count()).where(NoticeDelivery.status == "sent")
        return int((await session.execute(query)).scalar_one())


async def test_two_drainers_on_one_database_never_send_a_row_twice(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    await _rows(sessions, tmp_path)
    one, two = Mail(), Mail()
    running = [asyncio.create_task(_drainer(sessions, mail).run()) for mail in (one, two)]
    try:
        await eventually(lambda: _sent(sessions), lambda n: n == ROWS, timeout=60)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    every = one.sent + two.sent
    assert len(every) == len(set(every)) == ROWS
    async with sessions() as session:
        assert await _statuses(session) == [("sent", 1)] * ROWS


async def test_a_row_claimed_by_a_drainer_killed_goes_after_its_lease_once(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    await _rows(sessions, tmp_path)
    clock = Clock()
    dead = asyncio.create_task(_drainer(sessions, Mail(hangs=True), clock, ROWS).run())
    await eventually(lambda: _claimed(sessions), lambda n: n == ROWS, timeout=60)
    dead.cancel()  # killed mid-send: its rows stay claimed, nothing recorded
    await asyncio.gather(dead, return_exceptions=True)
    mail = Mail()
    clock.reads = 0
    survivor = asyncio.create_task(_drainer(sessions, mail, clock).run())
    try:
        # Many polls within the lease: the claimed rows are not due.
        await eventually(lambda: at_once(clock.reads), lambda n: n >= POLLS)
        assert mail.sent == [] and await _sent(sessions) == 0
        clock.now += timedelta(seconds=61)  # the lease over
        await eventually(lambda: _sent(sessions), lambda n: n == ROWS, timeout=60)
    finally:
        survivor.cancel()
        await asyncio.gather(survivor, return_exceptions=True)
    assert len(mail.sent) == len(set(mail.sent)) == ROWS
    async with sessions() as session:
        assert await _statuses(session) == [("sent", 2)] * ROWS


async def _claimed(sessions: async_sessionmaker[Any]) -> int:
    async with sessions() as session:
        query = select(func.count()).where(NoticeDelivery.attempts == 1)
        return int((await session.execute(query)).scalar_one())


class Addresses:
    """The handler's email; ``broken``: the look-up fails (the database gone mid-write)."""

    def __init__(self, *, broken: bool = False) -> None:
        self._broken = broken
        self.asked = 0

    async def targets(self, session: AsyncSession, notice: NoticeRow) -> list[DeliveryTarget]:
        self.asked += 1
        if self._broken:
            raise ConnectionError("the database went away")
        return [DeliveryTarget(channel=DeliveryChannel.EMAIL, address="h1@qingshui.example")]


async def test_a_step_is_written_with_its_notices_marked_and_routed_by_the_notices_process(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """``record_step`` writes the step and its notices marked ``to_route`` in one transaction and
    answers the 督办单's 签收 wait only; the notices' process looks up the channels and writes
    the delivery rows with the mark cleared, in one transaction: a failed look-up leaves neither
    rows nor a cleared mark, and the next poll routes it."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    # A step with one 督办单 (the slip-number tests' step), for the workflow's outbox path.
    record = step(pid, 1, [NoticeKind.SUPERVISION]).model_copy(
        update={"routes_back": True, "outboxed": True}
    )

    def dispatch(addresses: Addresses) -> NoticeDispatch:
        return NoticeDispatch(
            None,  # type: ignore[arg-type]
            "notices",
            sessions,
            channels_on=True,
            addresses=addresses,
            senders=[DeliveryChannel.EMAIL],
        )

    chain = PetitionActivities(
        sessions, DirectoryUpstream(tmp_path / "upstream"), dispatch(Addresses(broken=True))
    )
    written = await chain.record_step(record)  # no look-up of channels on the chain's side
    # The workflow is answered with the 督办单's 签收 wait only: no target, no send of its own.
    assert isinstance(written, StepWritten) and written.written
    [wait] = written.routes
    assert wait.notice.key == "s1-0" and wait.notice.outboxed and wait.targets == []
    assert wait.notice.sign_within is not None
    assert await _routing(sessions) == ([True], 0)

    async def drain(addresses: Addresses, until: Any) -> None:
        drainer = Drainer(
            sessions,
            {DeliveryChannel.EMAIL: Mail(hangs=True)},
            dispatch(addresses),
            slots=4,
            poll_seconds=0.02,
            lease_seconds=60.0,
        )
        running = asyncio.create_task(drainer.run())
        try:
            await until()
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    broken = Addresses(broken=True)  # many polls, each failing
    await drain(broken, lambda: eventually(lambda: at_once(broken.asked), lambda n: n >= POLLS))
    assert await _routing(sessions) == ([True], 0)
    await drain(
        Addresses(), lambda: eventually(lambda: _routing(sessions), lambda r: r == ([None], 1))
    )
    async with sessions() as session:
        [slip] = await petitions.notices(session, pid)
        [delivery] = await session.scalars(select(NoticeDelivery))
    assert (delivery.notice_id, delivery.channel) == (slip.id, "email")
    assert delivery.address == "h1@qingshui.example" and delivery.due_at is not None


async def _routing(sessions: async_sessionmaker[Any]) -> tuple[list[bool | None], int]:
    """Each notice's ``to_route`` mark, and how many delivery rows there are (a reader)."""
    async with readers(sessions)() as session:
        marks = list(await session.scalars(select(NoticeRow.to_route)))
        rows = await session.scalar(select(func.count(NoticeDelivery.id)))
    return marks, int(rows or 0)


async def test_a_supervision_not_signed_for_in_time_brings_one_reminder_unless_signed_or_closed(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """The patch signatures-watched-in-outbox: the notices' process, not a timer of the
    petition's workflow, writes the 催办 (and the bureau's copy) of a 督办单 past its 签收 moment;
    none for one signed meanwhile or whose case has closed, none before the moment, and one
    only however many drainers look."""
    settings = make_settings(tmp_path)
    open_case = await register_petition(sessions, settings=settings, phone="13900000011")
    closed_case = await register_petition(sessions, settings=settings, phone="13900000012")
    now = utcnow()
    past, later = now - timedelta(minutes=1), now + timedelta(hours=1)
    async with sessions() as session:
        closed = await petitions.get(session, closed_case)
        assert closed is not None
        closed.stage = "closed"
        who = ("dongguan-sup", "supervising_leader")
        rows = {
            (pid, key): outbox_notice(pid, key, "supervision", who, "督办", now)
            for pid, key in [
                (open_case, "escalation-L2"),
                (open_case, "escalation-L3"),
                (open_case, "escalation-L4"),
                (closed_case, "escalation-L2"),
            ]
        }
        for (_, key), row in rows.items():
            row.sign_by = later if key == "escalation-L4" else past
        rows[(open_case, "escalation-L3")].signed_at = now
        session.add_all(rows.values())
        await session.commit()

    drainers = [asyncio.create_task(_drainer(sessions, Mail(), Clock()).run()) for _ in range(2)]
    try:
        await eventually(
            lambda: _awaited(sessions), lambda keys: keys == {(open_case, "escalation-L4")}
        )
    finally:
        for task in drainers:
            task.cancel()
        await asyncio.gather(*drainers, return_exceptions=True)
    async with sessions() as session:
        reminders = (
            await session.execute(
                select(NoticeRow.petition_id, NoticeRow.key, NoticeRow.recipient_id).where(
                    NoticeRow.kind == NoticeKind.SIGN_REMINDER.value
                )
            )
        ).all()
    assert sorted(reminders) == [
        (open_case, "escalation-L2:unsigned", "dongguan-sup"),
        (open_case, "escalation-L2:unsigned:bureau", "bureau-01"),
    ]


async def _awaited(sessions: async_sessionmaker[Any]) -> set[tuple[str, str]]:
    async with sessions() as session:
        found = await session.execute(
            select(NoticeRow.petition_id, NoticeRow.key).where(NoticeRow.sign_by.is_not(None))
        )
        return {(pid, key) for pid, key in found.all()}


async def test_a_record_the_database_refused_is_written_later_and_nothing_goes_twice(
    sessions: async_sessionmaker[Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """A poll's sends are recorded together after the providers' answers; a record the database
    refuses is kept and written at the next try, long before the lease would send them again."""
    await _rows(sessions, tmp_path)
    real, refusals = outbox.record_sent, [2]

    async def refused_twice(session: AsyncSession, sent: Any, now: datetime) -> None:
        if refusals[0]:
            refusals[0] -= 1
            raise ConnectionError("the database went away")
        await real(session, sent, now)

    monkeypatch.setattr(outbox, "record_sent", refused_twice)
    mail = Mail()
    running = asyncio.create_task(_drainer(sessions, mail).run())
    try:
        await eventually(lambda: _sent(sessions), lambda n: n == ROWS, timeout=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert refusals == [0]
    assert len(mail.sent) == len(set(mail.sent)) == ROWS
    async with sessions() as session:
        assert await _statuses(session) == [("sent", 1)] * ROWS


async def test_a_drainer_stopping_records_what_it_sent_before_it_goes(
    sessions: async_sessionmaker[Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """Stopped while a record is still being written (the database slow), the drainer writes
    every send it made before it goes: none is left to be sent again after the lease."""
    await _rows(sessions, tmp_path)
    real, stuck = outbox.record_sent, asyncio.Event()

    async def first_never_ends(session: AsyncSession, sent: Any, now: datetime) -> None:
        if not stuck.is_set():
            stuck.set()
            await asyncio.Event().wait()
        await real(session, sent, now)

    monkeypatch.setattr(outbox, "record_sent", first_never_ends)
    mail = Mail()
    running = asyncio.create_task(_drainer(sessions, mail).run())

    async def mailed_and_recording() -> tuple[int, bool]:
        return len(mail.sent), stuck.is_set()

    await eventually(mailed_and_recording, lambda seen: seen == (ROWS, True))
    assert await _sent(sessions) == 0
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    async with sessions() as session:
        assert await _statuses(session) == [("sent", 1)] * ROWS


async def test_routing_a_burst_reads_each_petition_and_person_once(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """The notices' process routes a burst's notices in one transaction reading each petition
    and each recipient once (the identity map holds rows weakly: they were read per notice)."""
    pid = await register_petition(sessions, settings=make_settings(tmp_path))
    people = [("dongguan-h1", "handler"), ("dongguan-sup", "supervising_leader")]
    async with sessions() as session:
        for n in range(20):
            row = outbox_notice(pid, f"reminder:{n}", "reminder", people[n % 2], "催办", utcnow())
            row.to_route = True
            session.add(row)
        await session.commit()
    read: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        read.extend(table for table in ("petitions", "people") if f"FROM {table} " in statement)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    dispatch = NoticeDispatch(
        None,  # type: ignore[arg-type]
        "notices",
        sessions,
        channels_on=True,
        addresses=DirectoryAddresses(clock=lambda: datetime(2026, 11, 25, 4, tzinfo=UTC)),
        senders=[DeliveryChannel.EMAIL],
    )
    drainer = Drainer(
        sessions,
        {DeliveryChannel.EMAIL: Mail(hangs=True)},
        dispatch,
        slots=1,
        poll_seconds=0.02,
        lease_seconds=60.0,
    )
    running = asyncio.create_task(drainer.run())
    try:
        await eventually(lambda: _routing(sessions), lambda r: r == ([None] * 20, 20))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        event.remove(engine, "before_cursor_execute", count)
    assert sorted(read) == ["people", "people", "petitions"]


async def test_routing_reads_in_the_callers_transaction_not_on_a_second_connection(
    store_url: str,
) -> None:
    """Routing asks whether any unit has a robot inside the caller's transaction. On a second
    connection it waited, under load, for a pool whose every other connection waited for the
    write lock the caller held: both processes stalled until the pool's timeout (issue 9).
    Here the pool has one connection, which the caller's transaction holds."""
    engine = create_async_engine(store_url, pool_size=1, max_overflow=0, pool_timeout=1)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    dispatch = NoticeDispatch(
        None,  # type: ignore[arg-type]
        "",
        sessions,
        channels_on=False,
        robots_on=True,
        addresses=DirectoryAddresses(),
        senders=[DeliveryChannel.WECOM],
    )
    try:
        async with sessions() as session:
            await session.execute(select(func.count()).select_from(NoticeRow))
            await dispatch.route_written(session, [NoticeRow(petition_id="XF-2026-000001")])
            await dispatch.outbox(session, "XF-2026-000001", {"assignment": NoticeKind.ASSIGNMENT})
    finally:
        await engine.dispose()
