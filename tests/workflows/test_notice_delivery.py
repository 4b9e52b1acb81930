"""Every notice reaches its person (issue 11) on the time-skipping server with the real workers
and a real SMTP server: each slip by email once, a 督办单 nobody signs for brings a 催办 and a
copy to the bureau, a refused address stops and tells the bureau, a server away is retried."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from activities.channels.email import EmailSender, SmtpServer
from activities.delivery import NoticeDispatch
from activities.upload import UpstreamSystem
from core.settings import Settings
from domain.delivery import DeliveryChannel
from domain.notice_delivery import (
    DELIVER_NOTICE,
    DELIVER_NOTICES,
    NOTICE_DELIVERY_WORKFLOW,
    REMIND_UNSIGNED_AND_SEND,
    REPORT_UNDELIVERED,
    SIGNED_FOR,
    DeliveryTarget,
    NoticeToDeliver,
    notice_workflow_id,
)
from domain.vocabulary import NoticeKind
from store import notices
from store.models import Notice, NoticeDelivery
from store.petitions import utcnow
from tests.helpers.mail import Mailbox, smtp_server
from tests.helpers.ports import free_port
from tests.helpers.store import outbox_notice
from tests.helpers.temporal import worker_for
from tests.helpers.waiting import at_once, eventually
from tests.helpers.workflows import DAY, Case, start_case
from worker.runtime import Drain, build_notice_worker

SENDER = "县信访局 <xfj@qingshui.example>"


def address(person_id: str) -> str:
    return f"{person_id}@qingshui.example"


class Emails:
    """Everyone of the directory has an address (the petitioner has none)."""

    async def targets(self, session: AsyncSession, notice: Notice) -> list[DeliveryTarget]:
        if notice.recipient_id.startswith("petitioner:"):
            return []
        return [DeliveryTarget(channel=DeliveryChannel.EMAIL, address=address(notice.recipient_id))]


@dataclass
class Delivering:
    mailbox: Mailbox
    sessions: async_sessionmaker[Any]
    start: Callable[..., Any]

    async def slips(self, case: Case) -> dict[str, Notice]:
        async with self.sessions() as session:
            return {
                n.key: n
                for n in await notices.of_record(
                    session, case.handle.id, await _keys(session, case)
                )
            }

    async def deliveries(self) -> dict[tuple[str, str], NoticeDelivery]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(Notice.key, NoticeDelivery).join(
                    Notice, Notice.id == NoticeDelivery.notice_id
                )
            )
            return {(key, d.channel): d for key, d in rows.all()}

    async def awaited_signatures(self) -> set[str]:
        """The keys of the 督办单 whose 签收 the notices' process still awaits."""
        async with self.sessions() as session:
            return set(await session.scalars(select(Notice.key).where(Notice.sign_by.is_not(None))))


async def _keys(session: AsyncSession, case: Case) -> list[str]:
    return list(
        await session.scalars(select(Notice.key).where(Notice.petition_id == case.handle.id))
    )


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
async def delivering(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
    upstream: UpstreamSystem,
    smtp_port: int,
) -> AsyncIterator[Delivering]:
    """The petition worker starting each notice's delivery, and the notices' worker sending by
    email to the test's SMTP server (started by the test: ``server``)."""
    client, queue = time_env.client, settings.notice_queue()
    email = EmailSender(SmtpServer.from_url(f"smtp://127.0.0.1:{smtp_port}", timeout=5), SENDER)
    dispatch = NoticeDispatch(
        client, queue, sessions, channels_on=True, addresses=Emails(), senders=[email.channel]
    )
    mailbox = Mailbox()
    async with (
        worker_for(client, settings, sessions, upstream, notices=dispatch),
        build_notice_worker(
            client,
            queue,
            sessions,
            {DeliveryChannel.EMAIL: email},
            Emails(),
            dispatch,
            # The 签收 moments are the workflow's time: the drainer looks at them on its clock.
            drain=Drain(clock=time_env.get_current_time),
        ),
    ):

        async def start(**intake: Any) -> Case:
            case = await start_case(time_env, sessions, settings, started=started, **intake)
            return case

        yield Delivering(mailbox, sessions, start)
        # The deliveries' workflows end with the test (their waits would outlive the worker).
        async with sessions() as session:
            keys = [(n.petition_id, n.key) for n in await session.scalars(select(Notice))]
        started.extend(notice_workflow_id(pid, key) for pid, key in keys)


async def test_each_slip_is_mailed_once_and_an_unsigned_supervision_brings_a_reminder(
    delivering: Delivering, smtp_port: int
) -> None:
    box = delivering.mailbox
    with smtp_server(box, smtp_port):
        case = await delivering.start()
        await eventually(lambda: at_once(box.to(address("dongguan-h1"))), bool)
        await case.accept()
        await case.sleep(DAY * 7)  # the chain climbs: 督办单 to the supervising leader
        await eventually(lambda: delivering.slips(case), lambda s: "escalation-L2" in s)
        await eventually(lambda: at_once(box.to(address("dongguan-sup"))), bool)
        await case.sleep(DAY * 1.1)  # a policy day with the 督办单 unsigned
        slips = await eventually(
            lambda: delivering.slips(case), lambda s: "escalation-L2:unsigned:bureau" in s
        )
        reminder, copy = slips["escalation-L2:unsigned"], slips["escalation-L2:unsigned:bureau"]
        assert (reminder.kind, reminder.recipient_id) == ("sign_reminder", "dongguan-sup")
        assert (copy.kind, copy.recipient_id) == ("sign_reminder", "bureau-01")
        assert "至今未签收" in reminder.text
        await eventually(lambda: at_once(box.to(address("bureau-01"))), bool)
        sup_subjects = await eventually(
            lambda: at_once([m["Subject"] for m in box.to(address("dongguan-sup"))]),
            lambda s: any("催办单" in x for x in s),
        )
    # Each notice reached its recipient's address once: no Message-ID twice.
    ids = box.message_ids()
    assert len(ids) == len(set(ids))
    assert any("督办单" in subject for subject in sup_subjects)
    deliveries = await delivering.deliveries()
    assert deliveries[("escalation-L2", "email")].status == "sent"
    assert deliveries[("escalation-L2", "email")].attempts == 1
    slips = await delivering.slips(case)
    assert slips["assignment"].delivered_at is not None
    # The petitioner has no address here: their 告知书 is in the outbox and sent nowhere.
    assert not [k for k, _ in deliveries if k.startswith("petitioner")]


async def test_a_supervision_signed_for_in_time_brings_no_reminder(
    delivering: Delivering, smtp_port: int, time_env: WorkflowEnvironment
) -> None:
    with smtp_server(delivering.mailbox, smtp_port):
        case = await delivering.start()
        await case.accept()
        await case.sleep(DAY * 7)
        slips = await eventually(lambda: delivering.slips(case), lambda s: "escalation-L2" in s)
        async with delivering.sessions() as session:
            signed = await notices.sign(
                session, slips["escalation-L2"].id, "dongguan-sup", utcnow()
            )
        assert signed is not None
        # 签收 reaches the petition's workflow, which delivers its notices (as the API tells it).
        await case.handle.signal(SIGNED_FOR, "escalation-L2")
        await eventually(  # delivered and signed: the delivery is over (its row once routed)
            delivering.deliveries,
            lambda d: (
                ("escalation-L2", "email") in d and d[("escalation-L2", "email")].status == "sent"
            ),
        )
        await case.sleep(DAY * 2)
        # Past its 签收 moment the notices' process looks at it, and finds it signed.
        await eventually(delivering.awaited_signatures, lambda keys: "escalation-L2" not in keys)
        assert "escalation-L2:unsigned" not in await delivering.slips(case)


async def test_a_refused_address_stops_and_the_bureau_is_told(
    delivering: Delivering, smtp_port: int
) -> None:
    delivering.mailbox.refused.add(address("dongguan-h1"))
    with smtp_server(delivering.mailbox, smtp_port):
        case = await delivering.start()
        slips = await eventually(
            lambda: delivering.slips(case), lambda s: "assignment:undelivered:email" in s
        )
        told = slips["assignment:undelivered:email"]
        assert (told.kind, told.recipient_id) == ("undelivered", "bureau-01")
        assert "交办单" in told.text and "电子邮件" in told.text and "550" in told.text
        # The bureau's own notice goes out to it (it is not refused).
        await eventually(lambda: at_once(delivering.mailbox.to(address("bureau-01"))), bool)
    failed = (await delivering.deliveries())[("assignment", "email")]
    assert (failed.status, failed.attempts) == ("failed", 1)  # not retried
    assert failed.last_error is not None and "550" in failed.last_error


async def test_a_server_away_is_retried_and_the_slip_delivered_once(
    delivering: Delivering, smtp_port: int, time_env: WorkflowEnvironment
) -> None:
    case = await delivering.start()
    pending = await eventually(
        delivering.deliveries,
        lambda d: (
            ("assignment", "email") in d and d[("assignment", "email")].last_error is not None
        ),
    )
    assert pending[("assignment", "email")].status == "pending"
    with smtp_server(delivering.mailbox, smtp_port):
        await time_env.sleep(timedelta(minutes=1))  # past the retry's backoff
        sent = await eventually(
            delivering.deliveries, lambda d: d[("assignment", "email")].status == "sent"
        )
        assert sent[("assignment", "email")].attempts >= 2
        assert len(delivering.mailbox.to(address("dongguan-h1"))) == 1
    assert "assignment:undelivered:email" not in await delivering.slips(case)


async def test_a_delivery_workflow_of_its_own_started_before_the_patch_still_delivers(
    delivering: Delivering, smtp_port: int, time_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A notice whose delivery workflow was started before ``deliveries-in-workflow`` is sent
    by it (the workflow stays registered), once, and the delivery ends."""
    box = delivering.mailbox
    with smtp_server(box, smtp_port):
        case = await delivering.start()
        await eventually(lambda: at_once(box.to(address("dongguan-h1"))), lambda m: len(m) == 1)
        async with delivering.sessions() as session:
            to = ("dongguan-h1", "handler")
            row = outbox_notice(case.handle.id, "reminder-1", "reminder", to, "催办", utcnow())
            session.add(row)
            await session.commit()
        started = NoticeToDeliver(
            notice_id=row.id,
            petition_id=case.handle.id,
            key=row.key,
            kind=NoticeKind.REMINDER,
            recipient_id=row.recipient_id,
        )
        handle = await time_env.client.start_workflow(
            NOTICE_DELIVERY_WORKFLOW,
            started,
            id=notice_workflow_id(case.handle.id, row.key),
            task_queue=settings.notice_queue(),
        )
        await handle.result()
    assert len(box.to(address("dongguan-h1"))) == 2  # the 交办单 and this 催办单, each once
    assert (await delivering.deliveries())[("reminder-1", "email")].status == "sent"


async def test_a_steps_slips_go_out_as_one_send(delivering: Delivering, smtp_port: int) -> None:
    """The patches deliveries-batched, deliveries-outboxed and signatures-watched-in-outbox: a
    step's slips, and the 催办 of an unsigned 督办单 with its copy to the bureau, go out from the
    notices' process: the workflow schedules no send and no 催办 of its own, where there was an
    activity per notice and channel, then per step."""
    box = delivering.mailbox
    with smtp_server(box, smtp_port):
        case = await delivering.start()
        await case.accept()
        await case.sleep(DAY * 7)
        await eventually(lambda: delivering.slips(case), lambda s: "escalation-L2" in s)
        await case.sleep(DAY * 1.1)  # a policy day with the 督办单 unsigned
        await eventually(
            delivering.deliveries,
            lambda d: all(
                d.get((key, "email")) and d[(key, "email")].status == "sent"
                for key in ("escalation-L2:unsigned", "escalation-L2:unsigned:bureau")
            ),
        )
    events = [e async for e in case.handle.fetch_history_events()]
    # The 催办 and its copy were written and sent by the notices' process, as the step's slips.
    scheduled = list(_scheduled(events).values())
    assert not {DELIVER_NOTICE, DELIVER_NOTICES, REMIND_UNSIGNED_AND_SEND} & set(scheduled)
    sends = scheduled.count(DELIVER_NOTICES) + scheduled.count(REMIND_UNSIGNED_AND_SEND)

    async def sent() -> list[Any]:
        return [d for d in (await delivering.deliveries()).values() if d.status == "sent"]

    # A message arrives before its sender records it sent: wait for the records to catch up.
    mailed = await eventually(sent, lambda rows: len(rows) >= len(set(box.message_ids())))
    assert len(set(box.message_ids())) == len(mailed) > sends


def _scheduled(events: list[HistoryEvent]) -> dict[int, str]:
    return {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }


async def test_an_outboxed_petition_schedules_no_send_of_its_own(
    delivering: Delivering, smtp_port: int
) -> None:
    """The patch deliveries-outboxed: the step's record writes the sends' rows and the notices'
    process drains them; the petition's history holds no send activity, and every row went."""
    box = delivering.mailbox
    with smtp_server(box, smtp_port):
        case = await delivering.start()
        await case.accept()
        await case.written()
        sent = await eventually(
            delivering.deliveries,
            lambda d: bool(d) and all(x.status == "sent" for x in d.values()),
        )
    scheduled = set(_scheduled([e async for e in case.handle.fetch_history_events()]).values())
    assert not scheduled & {DELIVER_NOTICE, DELIVER_NOTICES, REPORT_UNDELIVERED}
    assert len(set(box.message_ids())) == len(sent)
