"""ReportRun: one scheduled run of a report (定时报送, issue 13) — the 巡查, 日报, 周报 or 月报 —
built from the read model, filed to its recipients' inboxes and posted to the groups' robots.

A schedule (worker/schedules.py) starts one run per scheduled time; the run's workflow id holds
that time, so it is the run's key: a retried activity or a repeated start files and posts
nothing twice. The 日报 runs on working days only (工作日, the holiday tables with 调休), which
the schedule's calendar cannot say; the run asks and ends at once on a day off."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.notice_delivery import PERMANENT_FAILURE
    from domain.policy import BEIJING
    from domain.report_runs import (
        FILE_REPORT_RUN,
        POST_ATTEMPTS,
        POST_REPORT,
        REPORT_RUN_WORKFLOW,
        REPORT_WORKDAY,
        ReportRunInput,
        ReportRunRequest,
        RobotPost,
        period_for,
    )
    from domain.reports import ReportKind

    # The store's steps are retried as the notices' are: until the database answers.
    from workflows.notice_delivery import STORE_RETRY

POST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_attempts=POST_ATTEMPTS,
    non_retryable_error_types=[PERMANENT_FAILURE],
)


@workflow.defn(name=REPORT_RUN_WORKFLOW)
class ReportRunWorkflow:
    @workflow.run
    async def run(self, run: ReportRunInput) -> int:
        """Returns how many robot posts were sent (0 on a day off for the 日报)."""
        now = workflow.now()
        today = now.astimezone(BEIJING).date()
        if run.kind is ReportKind.DAILY and run.working_days_only:
            working = await workflow.execute_activity(
                REPORT_WORKDAY,
                today,
                result_type=bool,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
            )
            if not working:
                return 0
        request = ReportRunRequest(
            run_id=workflow.info().workflow_id,
            kind=run.kind,
            period=period_for(run.kind, today),
            now=now,
        )
        posts = await workflow.execute_activity(
            FILE_REPORT_RUN,
            request,
            result_type=list[RobotPost],
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=STORE_RETRY,
        )
        sent = await asyncio.gather(*(self._post(post) for post in posts))
        return sum(sent)

    async def _post(self, post: RobotPost) -> bool:
        try:
            await workflow.execute_activity(
                POST_REPORT,
                post,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=POST_RETRY,
            )
        except ActivityError:
            return False  # recorded failed on its receipt; the others still go
        return True
