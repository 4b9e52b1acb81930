"""``python -m worker.simulate`` on a few petitions (issue 13, item 7): a year and the year
before played through the real workflow — on the time-skipping server (``--faithful``) or on a
virtual clock (the default) — written into the read model it is given, with that year's numbers
and times and every petition's loop closed."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.database import prepare_store
from domain import report_periods
from domain.reports import ReportKind
from store.db import dispose
from store.models import Petition, SpecialReport
from store.reports import build_report
from tests.helpers.settings import make_settings
from worker.simulate import app, simulate


@pytest.mark.parametrize("mode", [[], ["--faithful"]], ids=["fast", "faithful"])
def test_a_simulated_year_and_the_one_before_land_in_the_read_model(
    tmp_path: Path, mode: list[str]
) -> None:
    database = tmp_path / "county.db"
    url = f"sqlite+aiosqlite:///{database}"
    arguments = ["--petitions", "3", "--year", "2025", "--seed", "7", "--database-url", url, *mode]
    answer = CliRunner().invoke(app, arguments)
    assert answer.exit_code == 0, answer.output
    assert "petitions of 2024, 2025 through their whole lifecycle in" in answer.output
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT id, registered_at, stage FROM petitions ORDER BY id").fetchall()
        counters = dict(db.execute("SELECT year, last FROM petition_counters").fetchall())
        first_step = dict(
            db.execute("SELECT petition_id, MIN(at) FROM timeline_events GROUP BY petition_id")
        )
    # 3 in 2025, some 8 % more (3 as well, rounded) in 2024: numbered in their own years.
    assert [pid[:7] for pid, _, _ in rows] == ["XF-2024"] * 3 + ["XF-2025"] * 3
    assert counters == {2024: 3, 2025: 3}
    for pid, registered_at, stage in rows:
        assert registered_at[:4] == pid[3:7]
        assert stage in ("closed", "declined"), (pid, stage)
        # The timeline moved back with the registration (it was run later, on today's clock).
        registered = datetime.fromisoformat(registered_at)
        assert abs((datetime.fromisoformat(first_step[pid]) - registered).total_seconds()) < 60


async def test_a_simulated_year_fills_the_weekly_and_the_special_report(tmp_path: Path) -> None:
    """The intake's report facts, the leaders' reception days and the 专报 (fast mode only:
    they are written after the petitions, the same way whichever mode played them)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'county.db'}"
    settings = make_settings(tmp_path, database_url=url)
    outcome = await simulate(settings, 150, 2025, previous_year=False, seed=1)
    assert outcome.petitions == 150 and outcome.refused == []
    sessions = await prepare_store(settings)
    async with sessions() as session:
        rows = list(await session.scalars(select(Petition)))
        marks = list(await session.scalars(select(SpecialReport)))
        year = report_periods.month(2025, 1)
        year.end = date(2025, 12, 31)
        weekly = await build_report(session, ReportKind.WEEKLY, year, datetime.now(UTC))
        special = await build_report(session, ReportKind.SPECIAL, year, datetime.now(UTC))
    await dispose(sessions)
    assert {"city", "province"} & {r.destination_level for r in rows}
    assert not all(r.first_time for r in rows) and any(r.key_petitioner for r in rows)
    to_mark = [
        r for r in rows if r.destination_level == "beijing" or (r.key_petitioner and r.persons >= 5)
    ]
    assert sorted(m.petition_id for m in marks) == sorted(r.id for r in to_mark)
    assert outcome.specials == len(marks) and outcome.receptions > 0
    assert weekly.tables[0].rows, "the county leaders' receptions"
    assert len(special.tables[0].rows) == len(marks)
