"""The directory's routes wired into delivery (issue 11): a unit's slips reach its WeCom and
DingTalk group robots and the petitioner's SMS reaches their mobile, through the real workers on
the time-skipping server and local providers that check each format; a reminder written at
night waits for a working morning, a 督办单 to a county leader goes at once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.channels import Sender
from activities.channels.configured import http_senders
from activities.delivery import AddressBook, DirectoryAddresses, NoticeDispatch
from activities.upload import UpstreamSystem
from core.settings import Settings
from domain.contacts import GroupRobots
from domain.contracts import RECORD_STEP
from domain.delivery import DeliveryChannel
from domain.notice_delivery import notice_workflow_id
from domain.policy import BEIJING
from store import contacts
from store.models import Notice, NoticeDelivery
from tests.helpers.robots import Providers
from tests.helpers.settings import make_settings
from tests.helpers.store import outbox_notice, register_petition
from tests.helpers.temporal import worker_for
from tests.helpers.waiting import eventually
from tests.helpers.workflows import start_case
from worker.runtime import Drain, build_notice_worker

# A Wednesday, 10:00 Beijing time: a working morning, nobody's quiet hours.
WORKING_MORNING = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# The same Wednesday, 23:00 Beijing time: within the default quiet hours (22:00-07:00).
AT_NIGHT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    async with Providers() as serving:
        yield serving


@dataclass
class Rig:
    """The time-skipping server, the store and the upper-level system of one test."""

    env: WorkflowEnvironment
    sessions: async_sessionmaker[Any]
    settings: Settings
    started: list[str]
    upstream: UpstreamSystem

    @contextlib.asynccontextmanager
    async def workers(
        self, senders: dict[DeliveryChannel, Sender], addresses: AddressBook
    ) -> AsyncIterator[None]:
        """The petition worker starting each notice's delivery, and the notices' worker."""
        client, queue = self.env.client, self.settings.notice_queue()
        dispatch = NoticeDispatch(
            client, queue, self.sessions, channels_on=True, addresses=addresses, senders=senders
        )
        async with (
            worker_for(client, self.settings, self.sessions, self.upstream, notices=dispatch),
            # The outbox's drainer on the time-skipping server's clock, as the workflow's
            # timers are: quiet hours skipped by the test end for it too.
            build_notice_worker(
                client,
                queue,
                self.sessions,
                senders,
                addresses,
                dispatch,
                drain=Drain(clock=self.env.get_current_time),
            ),
        ):
            yield

    async def put_robots(self, robots: GroupRobots) -> None:
        async with self.sessions() as session:
            await contacts.put_group(session, "dongguan", "东关镇工作群", "dongguan", robots)
            await session.commit()


@pytest.fixture
def rig(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
    upstream: UpstreamSystem,
) -> Rig:
    return Rig(time_env, sessions, settings, started, upstream)


async def test_a_units_slips_reach_its_robots_and_the_petitioner_gets_an_sms(
    rig: Rig, providers: Providers, tmp_path: Path
) -> None:
    await rig.put_robots(
        GroupRobots(
            wecom_url=providers.wecom_url(),
            dingtalk_url=providers.dingtalk_url(),
            dingtalk_secret=providers.dingtalk_robots["dingtalk-dongguan"],
        )
    )
    senders = http_senders(
        make_settings(
            tmp_path,
            sms_gateway_url=providers.sms_url(),
            sms_gateway_token=providers.sms_token,
            sms_template_id="SMS_PETITION_001",
            sms_signature="青川县信访局",
        )
    )
    assert senders.keys() == {DeliveryChannel.WECOM, DeliveryChannel.DINGTALK, DeliveryChannel.SMS}
    addresses = DirectoryAddresses(clock=lambda: WORKING_MORNING)
    async with rig.workers(senders, addresses):
        case = await start_case(rig.env, rig.sessions, rig.settings, started=rig.started)
        await case.accept()
        # The 交办单 to the handler, in the unit's group on both robots, once each.
        await eventually(lambda: _count(providers), lambda n: n >= (1, 1, 1))
        await case.written()
        # The petitioner's 受理告知: one short SMS to the petition's mobile, with its number.
        [sms] = providers.sms.values()
        assert sms["phone"] == "13800138000" and case.handle.id in sms["params"]["text"]
        wecom = [body["text"]["content"] for _, body in providers.wecom]
        assert any("交办单" in text for text in wecom)
        assert len(wecom) == len(set(wecom))  # no slip posted twice
        assert len(providers.dingtalk) == len(providers.wecom)
        await _end_with_the_test(rig.sessions, case.handle.id, rig.started)


async def _count(providers: Providers) -> tuple[int, int, int]:
    return len(providers.wecom), len(providers.dingtalk), len(providers.sms)


async def _end_with_the_test(
    sessions: async_sessionmaker[Any], petition_id: str, started: list[str]
) -> None:
    """The deliveries' workflows end with the test (their waits would outlive the worker)."""
    async with sessions() as session:
        keys = await session.scalars(select(Notice.key).where(Notice.petition_id == petition_id))
        started.extend(notice_workflow_id(petition_id, key) for key in keys)


async def _history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return [e async for e in handle.fetch_history_events()]


async def _due(sessions: async_sessionmaker[Any], petition_id: str) -> list[tuple[str, Any]]:
    """The outbox's rows of the petition's 交办单 still to send, and when they are due."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.channel, NoticeDelivery.due_at)
            .join(Notice, Notice.id == NoticeDelivery.notice_id)
            .where(
                Notice.petition_id == petition_id,
                Notice.key == "assignment",
                NoticeDelivery.status == "pending",
            )
        )
        return [(channel, due) for channel, due in rows.all()]


def _outboxed(events: list[HistoryEvent]) -> int:
    """How many activities other than ``record_step`` the workflow scheduled."""
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    return sum(name != RECORD_STEP for name in scheduled)


async def test_a_reminder_at_night_waits_for_a_working_morning(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """On a production clock: the handler's 催办单 written at 23:00 is held until 07:00; a
    督办单 to the county contact leader goes at once (domain.quiet_hours)."""
    settings = make_settings(tmp_path, day_seconds=86400)
    pid = await register_petition(sessions, settings=settings)

    def notice(key: str, kind: str, recipient: str, role: str) -> Notice:
        return outbox_notice(pid, key, kind, (recipient, role), f"【{kind}】…", AT_NIGHT)

    reminder = notice("reminder-1", "reminder", "dongguan-h1", "handler")
    supervision = notice("escalation-L4", "supervision", "cl-01", "county_contact_leader")
    at_night = DirectoryAddresses(clock=lambda: AT_NIGHT)
    async with sessions() as session:
        session.add_all([reminder, supervision])
        await session.flush()
        held = await at_night.targets(session, reminder)
        urgent = await at_night.targets(session, supervision)
        by_day = await DirectoryAddresses(clock=lambda: WORKING_MORNING).targets(session, reminder)
    morning = datetime(2026, 11, 26, 7, 0, tzinfo=BEIJING)
    assert [(t.channel, t.not_before) for t in held] == [(DeliveryChannel.EMAIL, morning)]
    assert [t.channel for t in urgent] == [DeliveryChannel.EMAIL, DeliveryChannel.SMS]
    assert all(t.not_before is None for t in urgent + by_day)


async def test_the_delivery_waits_for_the_release_before_it_sends(
    rig: Rig, providers: Providers
) -> None:
    """A target held by quiet hours is sent once its release comes, not before. Since the patch
    deliveries-outboxed the release is the outbox row's due moment, not a workflow timer: the
    step's record wrote the row, and the workflow schedules no send nor look-up of its own."""
    later = (await rig.env.get_current_time()) + timedelta(hours=8)

    class Held:
        async def targets(self, session: Any, notice: Notice) -> list[Any]:
            found = await DirectoryAddresses(clock=lambda: WORKING_MORNING).targets(session, notice)
            return [t.model_copy(update={"not_before": later}) for t in found]

    await rig.put_robots(GroupRobots(wecom_url=providers.wecom_url()))
    async with rig.workers(http_senders(rig.settings), Held()):
        case = await start_case(rig.env, rig.sessions, rig.settings, started=rig.started)
        # The petition's own workflow delivers its notices (the patch deliveries-in-workflow).
        due = await eventually(lambda: _due(rig.sessions, case.handle.id), bool)
        assert due == [(DeliveryChannel.WECOM.value, later)]  # held until the release
        events = await _history(case.handle)
        assert providers.wecom == []  # held: nothing posted before the release
        assert _outboxed(events) == 0  # the step's record said where: no send, no look-up
        await rig.env.sleep(timedelta(hours=9))
        await eventually(lambda: _count(providers), lambda n: n[0] >= 1)
        await _end_with_the_test(rig.sessions, case.handle.id, rig.started)
