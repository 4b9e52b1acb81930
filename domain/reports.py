"""The bureau's reports (四报 and 日两巡查, issue 13): their kinds, periods and one shape shared by
the API (JSON, XLSX, PDF), the console and the scheduled runs that deliver them.

This module is the contract between the report builders (what each report counts, in
``domain/`` and ``store/reports.py``) and the schedules that run and deliver them
(``workflows/``): a report is a title, a summary paragraph and tables, nothing more, so a new
output format or channel never needs to know what a report counts."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class ReportKind(StrEnum):
    DAILY = "daily"  # 日报: each working day, to every unit's head and the secretaries' group
    WEEKLY = "weekly"  # 周报: on Monday, to the county secretary and the county head
    MONTHLY = "monthly"  # 月报: on the 1st, to every township and county department
    SPECIAL = "special"  # 专报: at once, to the county's principal leaders alone
    PATROL = "patrol"  # 巡查: twice a day, to the bureau and each unit's handler


# Each kind's name, in the bureau's order (四报, then 巡查): the console's tabs.
KIND_NAMES = {
    ReportKind.DAILY: "日报",
    ReportKind.WEEKLY: "周报",
    ReportKind.MONTHLY: "月报",
    ReportKind.SPECIAL: "专报",
    ReportKind.PATROL: "巡查",
}


class ReportPeriod(BaseModel):
    """The days a report covers, both ends included (Beijing dates)."""

    start: date
    end: date


Cell = str | int | float | None


class ReportTable(BaseModel):
    """One table of a report: one sheet of its XLSX, one table of its page and its PDF."""

    title: str
    columns: list[str]  # Chinese headers, in the county's table layout
    rows: list[list[Cell]] = Field(default_factory=list)
    # The row that adds the others up (合计), when the table has one.
    total: list[Cell] | None = None
    # A list cut to its first rows (the 巡查's, most urgent first): how many it has in all.
    count: int | None = None

    @property
    def more(self) -> int:
        """Rows counted but not listed (另有 K 件)."""
        return 0 if self.count is None else self.count - len(self.rows)

    @property
    def more_words(self) -> str:
        """What a page, a sheet or a message says of the rows not listed."""
        return f"另有{self.more}件未列出（共{self.count}件）" if self.more else ""


class Report(BaseModel):
    kind: ReportKind
    title: str  # e.g. 青县信访工作月报（2026年10月）
    period: ReportPeriod
    # A paragraph in the seeds' style, written from the tables' numbers by templates and rules:
    # every number in it is a number in the tables.
    summary: str
    tables: list[ReportTable] = Field(default_factory=list)
    # Per unit (unit id → its own section) where a report goes to each unit separately, as
    # the 巡查's digest to a unit's handler and the 日报 to a unit's group do.
    per_unit: dict[str, list[ReportTable]] = Field(default_factory=dict)
