"""The I/O of a report's scheduled run (issue 13): whether a day is a working day, building the
report from the read model and filing it with its recipients, and one post to a group robot."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Sender
from domain.calendar import china_calendar
from domain.contacts import dingtalk_address
from domain.delivery import DeliveryChannel, Outgoing, PermanentDeliveryFailure
from domain.notice_delivery import PERMANENT_FAILURE
from domain.report_runs import (
    FILE_REPORT_RUN,
    POST_ATTEMPTS,
    POST_REPORT,
    REPORT_WORKDAY,
    ReportRunRequest,
    RobotPost,
)
from store import report_runs
from store.models import ChatGroup, ReportReceipt, ReportRun
from store.petitions import utcnow
from store.reports import build_report

log = logging.getLogger("petitionflow.reports")


def _address(group: ChatGroup, channel: DeliveryChannel) -> str | None:
    if channel is DeliveryChannel.WECOM:
        return group.wecom_url
    if group.dingtalk_url is None:
        return None
    return dingtalk_address(group.dingtalk_url, group.dingtalk_secret)


class ReportActivities:
    def __init__(
        self, sessions: async_sessionmaker[Any], senders: dict[DeliveryChannel, Sender]
    ) -> None:
        self._sessions = sessions
        self._senders = senders

    @activity.defn(name=REPORT_WORKDAY)
    async def report_workday(self, day: date) -> bool:
        """工作日: the holiday tables (调休 included) say whether the 日报 runs on ``day``."""
        return china_calendar([day.year]).is_workday(day)

    @activity.defn(name=FILE_REPORT_RUN)
    async def file_report_run(self, request: ReportRunRequest) -> list[RobotPost]:
        """Build the report from the read model and file the run with its inbox entries and
        its posts (once: a retry files nothing new); returns the posts still to send."""
        async with self._sessions() as session:
            try:
                report = await build_report(session, request.kind, request.period, request.now)
            except NotImplementedError as exc:  # a kind whose builder is not there yet
                raise ApplicationError(str(exc), non_retryable=True) from exc
            pending = await report_runs.file_run(session, request.run_id, report, utcnow())
        return [
            RobotPost(receipt_id=row.id, channel=row.channel)
            for row in pending
            if DeliveryChannel(row.channel) in self._senders
        ]

    @activity.defn(name=POST_REPORT)
    async def post_report(self, post: RobotPost) -> None:
        """One post to a group's robot, recorded; a post recorded sent is not sent again."""
        channel = DeliveryChannel(post.channel)
        async with self._sessions() as session:
            row = await session.get(ReportReceipt, post.receipt_id)
            if row is None or row.status != report_runs.PENDING:
                return
            run = await session.get(ReportRun, row.run_id)
            group = await session.get(ChatGroup, row.recipient_id)
            address = _address(group, channel) if group is not None else None
        if address is None:  # the group lost its robot since the run was filed
            await self._record(row.id, report_runs.FAILED, "no robot on this channel any more")
            return
        message = Outgoing(
            notice_id=row.id,
            channel=channel,
            address=address,
            subject=run.title if run is not None else "信访工作报告",
            text=row.text,
            dedup_key=f"report-{row.id}:{channel.value}",
        )
        try:
            await self._senders[channel].send(message)
        except PermanentDeliveryFailure as exc:
            await self._record(row.id, report_runs.FAILED, str(exc))
            raise ApplicationError(str(exc), type=PERMANENT_FAILURE, non_retryable=True) from exc
        except Exception as exc:
            last = activity.info().attempt >= POST_ATTEMPTS
            status = report_runs.FAILED if last else report_runs.PENDING
            await self._record(row.id, status, f"{type(exc).__name__}: {exc}")
            if last:
                log.warning("report post %s to %s failed for good: %s", row.id, channel, exc)
            raise
        await self._record(row.id, report_runs.SENT)

    async def _record(self, receipt_id: int, status: str, error: str | None = None) -> None:
        async with self._sessions() as session:
            await report_runs.record(session, receipt_id, status, utcnow(), error)
