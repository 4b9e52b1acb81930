"""The 月报, 周报 and 专报 on two years of petitions registered through the store (issue 13):
the per-unit ranking adds up to the county, 同比 compares with the year before, the workbook
opens with openpyxl, and every number of the summary paragraph is a number of the tables."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.report_files import workbook
from domain import report_periods as periods
from domain.report_summary import numbers_in
from domain.reports import Report, ReportKind
from store import petitions, receptions
from store.models import LeaderReception, Petition, Unit
from store.report_monthly import unit_names
from store.reports import build_report
from tests.helpers.settings import make_settings
from tests.helpers.store import outbox_notice

NOW = datetime(2026, 11, 2, 2, tzinfo=UTC)


async def register(
    sessions: async_sessionmaker[Any],
    settings: Any,
    at: datetime,
    unit_id: str | None = "dongguan",
    **intake: Any,
) -> str:
    """An intake record as the API writes it, at ``at``; ``intake`` overrides the defaults."""
    async with sessions() as session:
        made = await petitions.register(
            session,
            intake={
                "channel": "visit",
                "petitioner_name": "张三",
                "petitioner_phone": "13800138000",
                "persons": 1,
                "category": "wage_dispute",
                "summary": "工资拖欠",
                "content": "某建筑公司拖欠工资。",
                "unit_id": unit_id,
                "track": "general",
                **intake,
            },
            now=at,
            policy=settings.policy_snapshot(),
            policy_version="test",
            idempotency_key=None,
            fingerprint="test",
        )
    return made.petition.id


def at(year: int, month: int, day: int = 10, hour: int = 3) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def table(report: Report, title: str) -> Any:
    return next(t for t in report.tables if t.title == title)


def table_numbers(report: Report) -> set[float]:
    cells = [c for t in report.tables for row in [*t.rows, t.total or []] for c in row]
    return {abs(float(c)) for c in cells if isinstance(c, int | float)}


async def test_the_monthly_report_on_two_years(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    # Last year: 4 in October 2025, 6 earlier in the year, 1 in December.
    for month in (10, 10, 10, 10, 3, 4, 5, 6, 7, 8, 12):
        await register(sessions, settings, at(2025, month), unit_id="xihe")
    # This year: 5 in September, 3 earlier, and October's 8 below.
    for month in (9, 9, 9, 9, 9, 2, 5, 7):
        await register(sessions, settings, at(2026, month))
    october = [
        await register(sessions, settings, at(2026, 10, 1), persons=6),  # 集体访
        await register(sessions, settings, at(2026, 10, 2), destination_level="beijing"),
        await register(sessions, settings, at(2026, 10, 3), destination_level="province"),
        await register(sessions, settings, at(2026, 10, 4), channel="letter", first_time=False),
        await register(sessions, settings, at(2026, 10, 5), unit_id="xihe", channel="online"),
        await register(sessions, settings, at(2026, 10, 6), unit_id="xihe"),
        await register(sessions, settings, at(2026, 10, 7), unit_id="renshe"),
        await register(sessions, settings, at(2026, 10, 31, 17), unit_id=None),  # 11-01 Beijing
    ]
    await register(sessions, settings, at(2026, 10, 31, 15), unit_id=None)  # 10-31 23:00 Beijing
    async with sessions() as session:  # outcomes, as the projection would have written them
        for pid in october[:3]:
            await session.execute(
                update(Petition)
                .where(Petition.id == pid)
                .values(accepted_at=NOW, completed_at=NOW, rating="satisfied")
            )
        await session.execute(
            update(Petition)
            .where(Petition.id == october[3])
            .values(accepted_at=NOW, unaccepted_overdue=True, overdue=True, handling_overdue=True)
        )
        await session.commit()
        report = await build_report(session, ReportKind.MONTHLY, periods.month(2026, 10), NOW)
        names = await unit_names(session)
        january = await build_report(session, ReportKind.MONTHLY, periods.month(2026, 1), NOW)

    # January's 环比 is against December of the year before.
    assert table(january, "总体情况").rows[0][1:4] == [0, 1, -100.0]
    overview = {row[0]: row for row in table(report, "总体情况").rows}
    # 本月, 上月, 环比, 去年同月, 同比, 本年累计, 去年同期累计, 累计同比
    assert overview["信访总量（批次）"][1:] == [8, 5, 60.0, 4, 100.0, 16, 10, 60.0]
    assert overview["信访总量（人次）"][1] == 13
    assert overview["集体访（批次）"][1] == 1
    assert overview["越级访（批次）"][1] == 2 and overview["进京访（批次）"][1] == 1
    ranking = table(report, "各单位信访情况排名")
    assert [row[:3] for row in ranking.rows] == [
        [1, "东关镇人民政府", 4],
        [2, "西河乡人民政府", 2],
        [3, "县人力资源和社会保障局", 1],
        [3, "（未交办）", 1],
    ]
    county = ranking.total
    assert county is not None and county[2] == 8 and county[3] == 13
    for column in range(2, 7):  # batches, persons, 集体访, 越级访, 进京访: units add up
        assert sum(row[column] for row in ranking.rows) == county[column]
    rates = {row[0]: row for row in table(report, "工作质量").rows}
    assert rates["按期办结率"][1:4] == [3, 4, 75.0]
    assert rates["重复信访率"][1:4] == [1, 8, 12.5]
    for title in ("按信访渠道", "按内容分类", "来访去向层级", "按办理程序"):
        breakdown = table(report, title)
        assert breakdown.total[1] == sum(row[1] for row in breakdown.rows), title
    by_month = {row[0]: row for row in table(report, "本年各月信访量").rows}
    assert by_month["10月"][1:] == [8, 13, 4, 100.0]
    assert report.per_unit["dongguan"][0].rows[0][1] == "逾期未受理、逾期未办结"

    assert report.summary.startswith("2026年1-10月，全县共受理信访事项16件")
    assert "同比上升60%" in report.summary and "进京访1批" in report.summary
    said = {abs(n) for n in numbers_in(report.summary, ["2026年1-10月"])}
    assert said and said <= table_numbers(report), said - table_numbers(report)

    book = load_workbook(io.BytesIO(workbook(report, names)))
    assert book.sheetnames[:3] == ["综述", "总体情况", "各单位信访情况排名"]
    sheet = book["各单位信访情况排名"]
    assert sheet.freeze_panes == "A2" and sheet["B1"].value == "单位"
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in values[:-1]) == values[-1][2] == 8
    assert book["综述"]["A3"].value == report.summary
    assert "分单位·存在问题" in book.sheetnames


async def test_the_weekly_and_special_reports(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    week = periods.week(2026, 43)  # 19-25 October
    pid = await register(sessions, settings, at(2026, 10, 20), key_petitioner=True)
    await register(sessions, settings, at(2026, 10, 13))
    async with sessions() as session:
        for day, persons in ((date(2026, 10, 20), 12), (date(2026, 10, 22), 5)):
            await receptions.record_reception(
                session,
                LeaderReception(
                    leader_id="cl-01",
                    day=day,
                    persons=persons,
                    petitions=2,
                    signed_instructions=1,
                    recorded_by="demo-bureau",
                    recorded_at=NOW,
                ),
            )
        marked = await receptions.mark_special(
            session, pid, "threat", "扬言到市政府集体上访", "demo-bureau", at(2026, 10, 21)
        )
        weekly = await build_report(session, ReportKind.WEEKLY, week, NOW)
        special = await build_report(session, ReportKind.SPECIAL, week, NOW)
    assert [n.recipient_id for n in marked.notices] == ["cpl-01"]
    assert "【专报·扬言】" in marked.notices[0].text and "登记" in marked.notices[0].text
    leaders = table(weekly, "县领导接访情况")
    assert leaders.rows == [["陈志远", "县委常委、常务副县长", 2, 17, 4, 2]]
    assert table(weekly, "重点信访人在办事项").rows[0][0] == pid
    assert "县领导接访2次，接待群众17人次" in weekly.summary
    assert "环比持平" in weekly.summary  # one petition this week, one the week before
    said = {abs(n) for n in numbers_in(weekly.summary, [periods.label(week)])}
    assert said <= table_numbers(weekly)
    assert special.tables[0].rows[0][:2] == [pid, "扬言"]
    assert special.summary.endswith("专报信访事项1件，其中扬言1件。")


async def test_the_patrol_finds_what_needs_a_person_now(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    now = datetime(2026, 10, 20, 1, tzinfo=UTC)  # 09:00 Beijing, the morning round
    due = await register(sessions, settings, at(2026, 10, 12))
    later = await register(sessions, settings, at(2026, 10, 13))
    async with sessions() as session:  # a new township, no handler appointed yet
        session.add(Unit(id="beishan", name="北山乡人民政府", kind="township", sort_order=99))
        await session.commit()
    nobody = await register(sessions, settings, at(2026, 10, 14), unit_id="beishan")
    async with sessions() as session:
        for pid, due_at in ((due, now + timedelta(hours=20)), (later, now + timedelta(days=3))):
            await session.execute(
                update(Petition)
                .where(Petition.id == pid)
                .values(stage="handling", next_due_at=due_at)
            )
        session.add(
            outbox_notice(due, "assign-1", "assignment", ("dongguan-h1", "handler"), "交办", now)
        )
        await session.commit()
        patrol = await build_report(session, ReportKind.PATROL, periods.day(now.date()), now)
    listed = {t.title: [row[0] for row in t.rows] for t in patrol.tables}
    assert listed["一日内到期"] == [due]
    assert listed["单据未签收"] == [due]
    assert listed["无承办人"] == [nobody]
    assert "一日内到期1件，单据未签收1份，无承办人1件" in patrol.summary
    mine = {t.title: t.rows for t in patrol.per_unit["dongguan"]}
    assert [row[0] for row in mine["一日内到期"]] == [due] and mine["未签收"][0][3] == "某"
