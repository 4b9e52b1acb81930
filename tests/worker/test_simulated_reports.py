"""Issue 13's done-when on a simulated year: the 月报 of a month the simulator played opens as a
workbook with openpyxl, its per-unit ranking adds up to the county, its 同比 compares with the
simulated year before (counted here straight from the petitions' registration times), and every
number of its summary paragraph is a number of its tables."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from core.database import prepare_store
from core.report_files import workbook
from domain import report_periods
from domain.policy import BEIJING
from domain.report_rules import change
from domain.report_summary import numbers_in
from domain.reports import Report, ReportKind, ReportTable
from store.db import dispose
from store.models import Petition
from store.report_monthly import unit_names
from store.reports import build_report
from tests.helpers.settings import make_settings
from worker.simulate import simulate


def table(report: Report, title: str) -> ReportTable:
    return next(t for t in report.tables if t.title == title)


def table_numbers(report: Report) -> set[float]:
    cells = [c for t in report.tables for row in [*t.rows, t.total or []] for c in row]
    return {abs(float(c)) for c in cells if isinstance(c, int | float)}


async def test_the_monthly_report_of_a_simulated_year_and_the_one_before(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'y.db'}")
    outcome = await simulate(settings, 360, 2025, previous_year=True, seed=5)
    assert outcome.refused == []
    sessions = await prepare_store(settings)
    async with sessions() as session:
        registered = list(await session.scalars(select(Petition.registered_at)))
        report = await build_report(
            session, ReportKind.MONTHLY, report_periods.month(2025, 4), datetime.now(UTC)
        )
        names = await unit_names(session)
    await dispose(sessions)

    by_month = Counter(
        (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        .astimezone(BEIJING)
        .strftime("%Y-%m")
        for moment in registered
    )
    this, last = by_month["2025-04"], by_month["2024-04"]
    assert this and last, by_month  # spring: both years have petitions in April
    overview = {row[0]: row for row in table(report, "总体情况").rows}
    # 本月, 上月, 环比, 去年同月, 同比, ...: 同比 against the simulated year before.
    batches = overview["信访总量（批次）"]
    assert batches[1] == this and batches[4] == last
    assert batches[5] == change(this, last)
    year_to_date = sum(n for month, n in by_month.items() if "2025-01" <= month <= "2025-04")
    assert batches[6] == year_to_date

    ranking = table(report, "各单位信访情况排名")
    county = ranking.total
    assert county is not None and county[2] == this
    for column in range(2, 7):  # batches, persons, 集体访, 越级访, 进京访
        assert sum(int(row[column] or 0) for row in ranking.rows) == county[column]

    said = {abs(n) for n in numbers_in(report.summary, ["2025年1-4月"])}
    assert said and said <= table_numbers(report), said - table_numbers(report)

    book = load_workbook(io.BytesIO(workbook(report, names)))
    sheet = book["各单位信访情况排名"]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in values[:-1]) == values[-1][2] == this
    assert book["综述"]["A3"].value == report.summary
