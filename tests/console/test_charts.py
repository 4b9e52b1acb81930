"""The report charts drawn from a report's own tables (api.console.charts): the 日报's
registrations per unit as a ranking (most first, a unit's name escaped), the months as columns
beside last year's, the 巡查's lists by length, and no chart where no table fits."""

from __future__ import annotations

from datetime import date

from api.console.charts import charts_of
from domain.reports import Report, ReportKind, ReportPeriod, ReportTable

DAY = ReportPeriod(start=date(2026, 10, 20), end=date(2026, 10, 20))


def _report(kind: ReportKind, *tables: ReportTable) -> Report:
    return Report(kind=kind, title="报表", period=DAY, summary="", tables=list(tables))


def test_units_are_ranked_most_first_and_their_names_escaped() -> None:
    per_unit = ReportTable(
        title="各单位信访登记情况",
        columns=["单位", "来访", "合计"],
        rows=[["西河乡", 1, 1], ["<b>东关镇</b>", 3, 3], ["南街", 0, 0]],
    )
    (chart,) = charts_of(_report(ReportKind.DAILY, per_unit))
    assert chart.title == "各单位信访登记情况（合计）"
    assert 'role="img" aria-label="各单位信访登记情况（合计）"' in chart.svg
    assert "<title>各单位信访登记情况（合计）</title>" in chart.svg
    assert "<b>" not in chart.svg and "&lt;b&gt;东关镇" in chart.svg
    assert chart.svg.index("东关镇") < chart.svg.index("西河乡") and "南街" not in chart.svg


def test_months_are_columns_beside_last_year_and_a_patrol_counts_its_lists() -> None:
    months = ReportTable(
        title="本年各月信访量",
        columns=["月份", "批次", "人次", "去年同月批次", "同比(%)"],
        rows=[["1月", 2, 3, 1, 100.0], ["2月", 5, 5, 0, None]],
    )
    (chart,) = charts_of(_report(ReportKind.MONTHLY, months))
    assert chart.svg.count("<rect") == 2 * 2 + 2  # this year and last, and the legend's two
    assert "去年同月" in chart.svg and ">5</text>" in chart.svg

    lists = [
        ReportTable(title="逾期未办结", columns=["编号", "单位", "摘要"], rows=[["a", "b", "c"]]),
        ReportTable(title="登记未交办", columns=["编号", "单位", "摘要"]),
    ]
    (patrol,) = charts_of(_report(ReportKind.PATROL, *lists))
    assert "逾期未办结" in patrol.svg and ">1</text>" in patrol.svg
    assert (
        charts_of(_report(ReportKind.WEEKLY, ReportTable(title="本周概况", columns=["指标"]))) == []
    )


def test_a_patrol_list_cut_short_is_drawn_at_its_whole_length() -> None:
    cut = ReportTable(
        title="逾期未办结", columns=["编号", "单位", "摘要"], rows=[["a", "b", "c"]], count=120
    )
    (patrol,) = charts_of(_report(ReportKind.PATROL, cut))
    assert ">120</text>" in patrol.svg
