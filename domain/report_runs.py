"""The scheduled runs of the bureau's reports (定时报送, issue 13): which days a run covers, who
receives it, and the text a group robot posts. Pure, so the workflow and the tests share it.

A run is one schedule's action: the 巡查 twice a day, the 日报 each working day (工作日), the
周报 on Monday, the 月报 on the 1st. It is known by its workflow id, which the schedule makes
from its own id and the scheduled time, so a run is delivered once per channel and recipient
however often its activities are retried."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.reports import Report, ReportKind, ReportPeriod, ReportTable

# How many rows of a table a robot's message lists before it says how many more there are: a
# group robot takes some 2,000 bytes (WeCom 2,048, DingTalk 20,000), the inbox has the rest.
ROWS_PER_TABLE = 8

REPORT_RUN_WORKFLOW = "ReportRun"
REPORT_WORKDAY = "report_workday"
FILE_REPORT_RUN = "file_report_run"
POST_REPORT = "post_report"
# A post is tried this many times (seconds apart, backing off), then recorded failed: a report
# late by hours is worth less than the next run, which the schedule skips while this one runs.
POST_ATTEMPTS = 5
INBOX = "inbox"  # the channel of an inbox entry (站内), beside domain.delivery's channels


class ReportRunInput(BaseModel):
    """What a schedule starts a run with."""

    model_config = ConfigDict(frozen=True)

    kind: ReportKind
    # False under a compressed policy day (tests, demos): every compressed day is a working day.
    working_days_only: bool = True


class ReportRunRequest(BaseModel):
    """One run to build and file: its key (the workflow id), the report and its period."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: ReportKind
    period: ReportPeriod
    now: datetime


class RobotPost(BaseModel):
    """One post of a run to one group's robot, filed before it is sent (``report_receipts``)."""

    model_config = ConfigDict(frozen=True)

    receipt_id: int
    channel: str  # domain.delivery.DeliveryChannel: wecom or dingtalk


def period_for(kind: ReportKind, today: date) -> ReportPeriod:
    """The days a run on ``today`` (a Beijing date) covers: the 日报 and the 巡查 today, the
    周报 the week before (Monday to Sunday), the 月报 the month before."""
    if kind is ReportKind.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return ReportPeriod(start=monday - timedelta(days=7), end=monday - timedelta(days=1))
    if kind is ReportKind.MONTHLY:
        last = today.replace(day=1) - timedelta(days=1)
        return ReportPeriod(start=last.replace(day=1), end=last)
    return ReportPeriod(start=today, end=today)


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _table_lines(table: ReportTable) -> list[str]:
    lines = [f"【{table.title}】"]
    if not table.rows and table.total is None:
        return [*lines, "无"]
    lines.append(" | ".join(table.columns))
    lines += [" | ".join(map(_cell, row)) for row in table.rows[:ROWS_PER_TABLE]]
    # Rows the message leaves out, and rows the report itself only counted (the 巡查's lists).
    hidden = max(0, len(table.rows) - ROWS_PER_TABLE) + table.more
    if hidden:
        lines.append(f"……另有{hidden}行，见系统")
    if table.total is not None:
        lines.append(" | ".join(map(_cell, table.total)))
    return lines


def report_text(report: Report, unit_id: str | None = None) -> str:
    """The text a group robot posts, or an inbox entry shows: the report's title and summary
    and its tables, or ``unit_id``'s own section of it when it has one."""
    tables = report.per_unit.get(unit_id, report.tables) if unit_id else report.tables
    lines = [report.title, report.summary]
    for table in tables:
        lines += _table_lines(table)
    return "\n".join(lines)


def posts_to_unit_groups(report: Report, unit_id: str) -> bool:
    """Whether a run posts to ``unit_id``'s group: the 日报 to every unit's; the 巡查 and the
    others to a unit with a section of its own (nothing due there: nothing posted)."""
    return report.kind is ReportKind.DAILY or unit_id in report.per_unit


def posts_to_named_groups(kind: ReportKind) -> bool:
    """The groups that are no unit (乡镇书记群, 局长群) receive the 日报 (seed 004)."""
    return kind is ReportKind.DAILY
