"""The 巡查's lists are digests (issue 13): each shows its most urgent rows, county-wide and in
each unit's section, and counts the rest; the summary, the page, the workbook and the robot's
message name how many are not listed."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.report_files import workbook
from domain import report_periods as periods
from domain.report_runs import report_text
from domain.reports import ReportKind
from store import report_patrol
from store.models import Petition
from store.reports import build_report
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

NOW = datetime(2026, 10, 20, 1, tzinfo=UTC)  # 09:00 Beijing, the morning round


def test_the_patrol_lists_fifty_rows_a_list() -> None:
    assert report_patrol.PATROL_LISTED == 50


async def test_the_patrol_lists_the_most_urgent_and_counts_the_rest(
    sessions: async_sessionmaker[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_patrol, "PATROL_LISTED", 2)  # a county's 50, on 7 petitions
    settings = make_settings(tmp_path)
    registered: dict[str, list[str]] = {"dongguan": [], "xihe": []}
    # Registered newest first, so the most urgent (the longest waiting) are the last made:
    # neither the petition numbers nor the insertion order give the 巡查's order.
    for n, unit in enumerate(["dongguan"] * 5 + ["xihe"] * 2):
        at = NOW - timedelta(days=20, hours=n)
        pid = await register_petition(sessions, settings=settings, unit_id=unit, now=at)
        registered[unit].insert(0, pid)
    async with sessions() as session:
        await session.execute(
            update(Petition)
            .where(Petition.id.in_([*registered["dongguan"], *registered["xihe"]]))
            .values(stage="overdue", overdue=True)
        )
        await session.commit()
        patrol = await build_report(session, ReportKind.PATROL, periods.day(NOW.date()), NOW)
    overdue = next(t for t in patrol.tables if t.title == "逾期未办结")
    # County-wide: the two registered earliest (both 西河's), then the count of all seven.
    assert [row[0] for row in overdue.rows] == registered["xihe"]
    assert (overdue.count, overdue.more) == (7, 5)
    assert "逾期未办结7件" in patrol.summary
    mine = {t.title: t for t in patrol.per_unit["dongguan"]}["逾期"]
    assert [row[0] for row in mine.rows] == registered["dongguan"][:2]
    assert (mine.count, mine.more) == (5, 3)
    theirs = {t.title: t for t in patrol.per_unit["xihe"]}["逾期"]
    assert (len(theirs.rows), theirs.count, theirs.more) == (2, 2, 0)

    # What is not listed is named wherever the report is read.
    assert overdue.more_words == "另有5件未列出（共7件）"
    book = load_workbook(io.BytesIO(workbook(patrol, {})))
    cells = {c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    assert "另有5件未列出（共7件）" in cells
    assert "另有3件未列出（共7件）" in cells  # the units' sections gathered: 3 + 0 not listed
    assert "……另有5行，见系统" in report_text(patrol)
    assert "……另有3行，见系统" in report_text(patrol, "dongguan")
