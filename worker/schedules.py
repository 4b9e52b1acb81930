"""The reports' Temporal Schedules (issue 13), created or brought up to date at worker start.

One schedule per report: ``report-patrol`` (巡查, at each of the patrol times), ``report-daily``
(日报, every day at its time; the run itself skips days off), ``report-weekly`` (周报, Monday)
and ``report-monthly`` (月报, the 1st), on Beijing's clock (``time_zone_name``). Each starts a
``ReportRun`` workflow on the reports' task queue. ``temporal schedule list`` shows them.

A run missed while the server was down is taken when it is back, within a catch-up window of
one period; while a run has not finished (the worker is down: it waits on its queue) the next
is skipped (overlap SKIP). Either way a missed run is made up once, not once per time missed.

Under a compressed policy day (tests, demos) each schedule is an interval of that day instead,
the times of day kept as fractions of it, so a test sees a 巡查 and a 日报 within seconds."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from core.settings import Settings
from domain.report_runs import ReportRunInput
from domain.reports import ReportKind
from workflows.reports import ReportRunWorkflow

log = logging.getLogger("petitionflow.schedules")

TIME_ZONE = "Asia/Shanghai"
REAL_DAY = timedelta(days=1)
# The shortest compressed day a schedule runs on: a policy day of half a second would otherwise
# start four report runs a second on a demo machine.
MIN_COMPRESSED_DAY = timedelta(seconds=5)
# The server's own floor for a catch-up window.
MIN_CATCHUP = timedelta(seconds=10)
SCHEDULED = (ReportKind.PATROL, ReportKind.DAILY, ReportKind.WEEKLY, ReportKind.MONTHLY)
# Days between runs (the 月报's is at most 31; a window of 28 days covers any missed one).
PERIOD_DAYS = {
    ReportKind.PATROL: 1,
    ReportKind.DAILY: 1,
    ReportKind.WEEKLY: 7,
    ReportKind.MONTHLY: 28,
}


def report_queue(settings: Settings) -> str:
    """The reports' task queue, apart from the petitions' (a list of those holds petitions)."""
    return f"{settings.task_queue}-reports"


def schedule_id(settings: Settings, kind: ReportKind) -> str:
    """``report-<kind>``; on another task queue than the default, its name appended, so two
    deployments sharing a namespace (or tests sharing a server) keep their own schedules."""
    default = Settings.model_fields["task_queue"].default
    suffix = "" if settings.task_queue == default else f"-{settings.task_queue}"
    return f"report-{kind.value}{suffix}"


def _times(settings: Settings, kind: ReportKind) -> list[tuple[int, int]]:
    texts = {
        ReportKind.PATROL: settings.patrol_times,
        ReportKind.DAILY: [settings.daily_report_time],
        ReportKind.WEEKLY: [settings.weekly_report_time],
        ReportKind.MONTHLY: [settings.monthly_report_time],
    }[kind]
    return [(int(text[:2]), int(text[3:])) for text in texts]


def compressed_day(settings: Settings) -> timedelta | None:
    """The length of a report's day under a compressed policy day; None on the real clock."""
    if settings.day_seconds >= REAL_DAY.total_seconds():
        return None
    return max(timedelta(seconds=settings.day_seconds), MIN_COMPRESSED_DAY)


def spec_for(settings: Settings, kind: ReportKind) -> ScheduleSpec:
    times = _times(settings, kind)
    day = compressed_day(settings)
    if day is not None:
        every = day * PERIOD_DAYS[kind] if kind is not ReportKind.PATROL else day
        return ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=every, offset=day * ((h * 60 + m) / (24 * 60)))
                for h, m in times
            ]
        )
    on: dict[str, list[ScheduleRange]] = {}
    if kind is ReportKind.WEEKLY:
        on["day_of_week"] = [ScheduleRange(1)]  # Monday (0 is Sunday)
    if kind is ReportKind.MONTHLY:
        on["day_of_month"] = [ScheduleRange(1)]
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(hour=[ScheduleRange(h)], minute=[ScheduleRange(m)], **on)  # type: ignore[arg-type]
            for h, m in times
        ],
        time_zone_name=TIME_ZONE,
    )


def schedule_for(settings: Settings, kind: ReportKind) -> Schedule:
    day = compressed_day(settings) or REAL_DAY
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportRunWorkflow.run,
            ReportRunInput(kind=kind, working_days_only=compressed_day(settings) is None),
            id=schedule_id(settings, kind),
            task_queue=report_queue(settings),
        ),
        spec=spec_for(settings, kind),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=max(day * PERIOD_DAYS[kind], MIN_CATCHUP),
        ),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the reports' schedules, or bring existing ones to the settings' times (keeping
    an operator's pause); with them off (``Settings.reports_scheduled``), delete them. Returns
    their ids."""
    ids: list[str] = []
    for kind in SCHEDULED:
        handle = client.get_schedule_handle(schedule_id(settings, kind))
        if not settings.reports_scheduled():
            with contextlib.suppress(RPCError):  # none there: nothing to delete
                await handle.delete()
            continue
        schedule = schedule_for(settings, kind)
        try:
            await client.create_schedule(schedule_id(settings, kind), schedule)
        except ScheduleAlreadyRunningError:

            def update(current: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                new.state = current.description.schedule.state
                return ScheduleUpdate(schedule=new)

            await handle.update(update)
        ids.append(schedule_id(settings, kind))
    if ids:
        log.info("report schedules %s (%s)", ", ".join(ids), TIME_ZONE)
    return ids
