"""The reports' shared entry (issue 13): the 日报 counts the day's registrations per unit and
channel with a 合计 row that adds them up; the 巡查 lists what is not yet assigned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.policy import BEIJING
from domain.reports import ReportKind, ReportPeriod
from store.reports import build_report
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition


async def test_the_daily_report_counts_the_days_registrations_per_unit(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    settings = make_settings(tmp_path)
    await register_petition(sessions, settings=settings, now=now)
    await register_petition(sessions, settings=settings, now=now, phone="13900000001")
    await register_petition(sessions, settings=settings, now=now, unit_id=None, phone="13900000002")
    today = now.astimezone(BEIJING).date()
    period = ReportPeriod(start=today, end=today)
    async with sessions() as session:
        daily = await build_report(session, ReportKind.DAILY, period, now)
        patrol = await build_report(session, ReportKind.PATROL, period, now)
    (table,) = daily.tables
    assert table.columns[0] == "单位" and table.columns[1] == "来信" and table.columns[-1] == "合计"
    visits = table.columns.index("来访")
    by_unit = {row[0]: row for row in table.rows}
    assert by_unit["东关镇人民政府"][visits] == 2 and by_unit["（未交办）"][visits] == 1
    assert table.total is not None and table.total[visits] == 3 and table.total[-1] == 3
    assert "全县共登记信访事项3件" in daily.summary
    unassigned = next(t for t in patrol.tables if t.title == "登记未交办")
    assert len(unassigned.rows) == 1 and "登记未交办1件" in patrol.summary
