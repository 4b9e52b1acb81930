"""A report's scheduled run (issue 13) on the time-skipping server with the real activities:
the 巡查 reaches the bureau's inbox whole and each unit with something due, its handlers' inbox
and its group's robot, with its own section; a run started again under its key sends nothing
twice; a robot that fails for a while is retried, and posted once."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from domain.contacts import GroupRobots
from domain.delivery import DeliveryChannel, Outgoing, TransientDeliveryFailure
from domain.report_runs import INBOX, ReportRunInput
from domain.reports import ReportKind
from store import report_runs
from store.contacts import put_group
from store.models import Petition
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition
from worker.runtime import build_report_worker
from workflows.reports import ReportRunWorkflow

WECOM = "https://robot.invalid/cgi-bin/webhook/send?key=k"


class RecordingRobot:
    """A group robot's sender that records each post; ``failures`` sends fail first."""

    def __init__(self, channel: DeliveryChannel, failures: int = 0) -> None:
        self.channel = channel
        self.failures = failures
        self.posted: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str | None:
        if self.failures:
            self.failures -= 1
            raise TransientDeliveryFailure("robot busy (errcode -1)")
        self.posted.append(message)
        return None


async def run_report(
    env: WorkflowEnvironment, settings: Settings, run_id: str, run: ReportRunInput
) -> int:
    result: int = await env.client.execute_workflow(
        ReportRunWorkflow.run, run, id=run_id, task_queue=settings.task_queue
    )
    return result


async def test_the_patrol_reaches_the_bureau_and_each_unit_with_something_due_once(
    time_env: WorkflowEnvironment, sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    now = await time_env.get_current_time()
    overdue = await register_petition(sessions, settings=settings, now=now)
    await register_petition(sessions, settings=settings, now=now, unit_id=None, phone="13900000009")
    async with sessions() as session:
        await session.execute(update(Petition).where(Petition.id == overdue).values(overdue=True))
        for unit in ("dongguan", "xihe"):
            await put_group(session, unit, f"{unit}群", unit, GroupRobots(wecom_url=WECOM))
        await session.commit()
    robot = RecordingRobot(DeliveryChannel.WECOM, failures=2)
    senders: dict[DeliveryChannel, Any] = {DeliveryChannel.WECOM: robot}
    run_id = f"report-patrol-{uuid.uuid4().hex[:8]}"
    patrol = ReportRunInput(kind=ReportKind.PATROL)
    async with build_report_worker(time_env.client, settings.task_queue, sessions, senders):
        assert await run_report(time_env, settings, run_id, patrol) == 1
        # The same run again (a repeated start, a reset): filed already, posted already.
        assert await run_report(time_env, settings, run_id, patrol) == 0
    async with sessions() as session:
        filed = await report_runs.receipts(session, run_id)
    inbox = {r.recipient_id: r for r in filed if r.channel == INBOX}
    assert set(inbox) == {"bureau-01", "bureau-02", "dongguan-h1", "dongguan-h2"}
    assert "【登记未交办】" in inbox["bureau-01"].text and overdue in inbox["bureau-01"].text
    # A unit's handlers read their own section: its overdue, not the county's unassigned.
    assert (
        overdue in inbox["dongguan-h1"].text and "【登记未交办】" not in inbox["dongguan-h1"].text
    )
    # The robot of the unit with something due, not of the one without (西河乡).
    [post] = [r for r in filed if r.channel == "wecom"]
    assert (post.recipient_id, post.status, post.attempts) == ("dongguan", "sent", 3)
    assert [m.address for m in robot.posted] == [WECOM]
    assert overdue in robot.posted[0].text


async def test_the_daily_report_goes_to_every_units_group_and_head(
    time_env: WorkflowEnvironment, sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    now = await time_env.get_current_time()
    await register_petition(sessions, settings=settings, now=now)
    async with sessions() as session:
        robot = GroupRobots(dingtalk_url="https://robot.invalid/robot/send?access_token=t")
        await put_group(session, "xihe", "西河乡工作群", "xihe", robot)
        await session.commit()
    robots = {c: RecordingRobot(c) for c in (DeliveryChannel.WECOM, DeliveryChannel.DINGTALK)}
    run_id = f"report-daily-{uuid.uuid4().hex[:8]}"
    daily = ReportRunInput(kind=ReportKind.DAILY, working_days_only=False)
    async with build_report_worker(time_env.client, settings.task_queue, sessions, dict(robots)):
        sent = await run_report(time_env, settings, run_id, daily)
    async with sessions() as session:
        filed = await report_runs.receipts(session, run_id)
    posted = {(r.channel, r.recipient_id) for r in filed if r.channel != INBOX}
    # 西河乡's own group, and the demo county's named groups (乡镇书记群, 局长群).
    assert posted == {
        ("dingtalk", "xihe"),
        ("wecom", "township-secretaries"),
        ("dingtalk", "bureau-chiefs"),
    }
    assert sent == 3 and all(
        "全县共登记信访事项1件" in m.text for r in robots.values() for m in r.posted
    )
    readers = {r.recipient_id for r in filed if r.channel == INBOX}
    assert {"bureau-01", "dongguan-head", "xihe-head"} <= readers
    assert "dongguan-h1" not in readers
