"""What a report's run covers and how a robot shows it (issue 13)."""

from __future__ import annotations

from datetime import date

from domain.report_runs import ROWS_PER_TABLE, period_for, report_text
from domain.reports import Report, ReportKind, ReportPeriod, ReportTable


def test_each_run_covers_its_days() -> None:
    friday = date(2026, 10, 9)
    assert period_for(ReportKind.DAILY, friday) == ReportPeriod(start=friday, end=friday)
    monday = date(2026, 10, 12)
    week = period_for(ReportKind.WEEKLY, monday)
    assert (week.start, week.end) == (date(2026, 10, 5), date(2026, 10, 11))
    month = period_for(ReportKind.MONTHLY, date(2026, 3, 1))
    assert (month.start, month.end) == (date(2026, 2, 1), date(2026, 2, 28))


def test_a_units_section_replaces_the_county_tables_and_long_tables_are_cut() -> None:
    rows: list[list[str | int | float | None]] = [[f"XF-{n}", n] for n in range(20)]
    report = Report(
        kind=ReportKind.PATROL,
        title="巡查",
        period=ReportPeriod(start=date(2026, 1, 1), end=date(2026, 1, 1)),
        summary="逾期未办结20件。",
        tables=[ReportTable(title="逾期未办结", columns=["编号", "天"], rows=rows)],
        per_unit={"dongguan": [ReportTable(title="逾期", columns=["编号"], rows=[["XF-7"]])]},
    )
    county = report_text(report)
    assert "XF-0 | 0" in county and f"另有{20 - ROWS_PER_TABLE}行" in county
    section = report_text(report, "dongguan")
    assert "【逾期】" in section and "【逾期未办结】" not in section
    assert report_text(report, "xihe") == county
