"""The reports' schedules as the worker creates them (issue 13): Beijing times from the
settings, Monday's 周报 and the 1st's 月报, a missed run made up once (overlap SKIP, a catch-up
window of one period), intervals of the policy day when it is compressed, off by default then."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import ScheduleOverlapPolicy, ScheduleRange
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.reports import ReportKind
from tests.helpers.settings import make_settings
from worker.schedules import SCHEDULED, ensure_schedules, schedule_for, schedule_id


def test_the_real_clock_runs_each_report_at_its_beijing_times(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, patrol_times=["08:30", "16:00"])
    assert settings.reports_scheduled()
    patrol = schedule_for(settings, ReportKind.PATROL)
    assert patrol.spec.time_zone_name == "Asia/Shanghai"
    times = [(c.hour[0].start, c.minute[0].start) for c in patrol.spec.calendars]
    assert times == [(8, 30), (16, 0)]
    assert patrol.policy.overlap is ScheduleOverlapPolicy.SKIP
    assert patrol.policy.catchup_window == timedelta(days=1)
    [weekly] = schedule_for(settings, ReportKind.WEEKLY).spec.calendars
    assert list(weekly.day_of_week) == [ScheduleRange(1)] and weekly.hour[0].start == 9
    monthly = schedule_for(settings, ReportKind.MONTHLY)
    assert list(monthly.spec.calendars[0].day_of_month) == [ScheduleRange(1)]
    assert monthly.policy.catchup_window == timedelta(days=28)
    [daily] = schedule_for(settings, ReportKind.DAILY).spec.calendars
    assert (daily.hour[0].start, daily.minute[0].start) == (17, 30)


def test_a_compressed_day_shrinks_the_times_and_is_off_unless_asked(tmp_path: Path) -> None:
    assert not make_settings(tmp_path, day_seconds=2).reports_scheduled()
    settings = make_settings(tmp_path, day_seconds=48, report_schedules=True)
    assert settings.reports_scheduled()
    patrol = schedule_for(settings, ReportKind.PATROL)
    assert not patrol.spec.calendars
    offsets = [(i.every, i.offset) for i in patrol.spec.intervals]
    assert offsets == [
        (timedelta(seconds=48), timedelta(seconds=18)),
        (timedelta(seconds=48), timedelta(seconds=30)),
    ]
    [weekly] = schedule_for(settings, ReportKind.WEEKLY).spec.intervals
    assert weekly.every == timedelta(seconds=7 * 48)
    # A policy day of half a second still gives a report's day of 5 s.
    tiny = make_settings(tmp_path, day_seconds=0.5, report_schedules=True)
    [daily] = schedule_for(tiny, ReportKind.DAILY).spec.intervals
    assert daily.every == timedelta(seconds=5)


async def test_a_restart_brings_the_schedules_to_the_settings_and_off_deletes_them(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    ids = await ensure_schedules(dev_env.client, settings)
    assert ids == [schedule_id(settings, kind) for kind in SCHEDULED]
    patrol = dev_env.client.get_schedule_handle(ids[0])
    await patrol.pause(note="巡查暂停")
    moved = settings.model_copy(update={"patrol_times": ["08:00"]})
    assert await ensure_schedules(dev_env.client, moved) == ids  # the worker started again
    described = await patrol.describe()
    [calendar] = described.schedule.spec.calendars
    assert calendar.hour[0].start == 8 and described.schedule.state.paused
    off = settings.model_copy(update={"report_schedules": False})
    assert await ensure_schedules(dev_env.client, off) == []
    for gone in ids:
        with pytest.raises(RPCError):  # not found
            await dev_env.client.get_schedule_handle(gone).describe()
