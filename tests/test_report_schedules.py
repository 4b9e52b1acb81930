"""Black box (issue 13): on what ``make run`` runs, with a compressed policy day and the reports'
schedules on, the 巡查 and the 日报 run by themselves and reach the bureau's inbox and 东关镇's
group robot (a local WeCom robot), one post per run; ``temporal schedule list`` shows them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import closing

import pytest

from tests.helpers.blackbox import Stack
from tests.helpers.county import PETITION
from tests.helpers.robots import Providers
from tests.helpers.settings import binary
from tests.helpers.waiting import eventually

SCHEDULES = {"report-patrol", "report-daily", "report-weekly", "report-monthly"}


@pytest.fixture
async def robots() -> AsyncIterator[Providers]:
    async with Providers() as serving:
        yield serving


def filed(stack: Stack) -> list[tuple[str, str, str, str]]:
    """(run id, channel, recipient, status) of every report receipt in the stack's read model."""
    path = stack.env["PETITIONFLOW_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT run_id, channel, recipient_id, status FROM report_receipts ORDER BY id"
        )
        return [tuple(row) for row in rows]


async def listed_schedules(stack: Stack) -> set[str]:
    command = [binary("temporal"), "schedule", "list", "-o", "json"]
    address = ["--address", f"127.0.0.1:{stack.temporal_port}"]
    done = await asyncio.to_thread(
        subprocess.run, command + address, capture_output=True, text=True, timeout=60
    )
    out = done.stdout.strip()
    rows = json.loads(out) if out.startswith("[") else [json.loads(x) for x in out.splitlines()]
    return {row["scheduleId"] for row in rows}


@pytest.mark.long(18)
async def test_the_patrol_and_the_daily_report_run_on_schedule_and_reach_inbox_and_robot(
    stack: Stack, robots: Providers
) -> None:
    # A policy day of half a second: a report's day is its floor, 5 s (worker/schedules.py).
    stack.env["PETITIONFLOW_REPORT_SCHEDULES"] = "true"
    stack.start()
    await stack.wait_up()
    async with await stack.client() as http:
        group = {"name": "东关镇工作群", "unit_id": "dongguan", "wecom_url": robots.wecom_url()}
        assert (await http.put("/groups/dongguan", json=group)).status_code in (200, 201)
        assert (await http.post("/petitions", json=PETITION)).status_code == 201

    def delivered(rows: list[tuple[str, str, str, str]]) -> bool:
        runs = {(run.split("-")[1], channel, to) for run, channel, to, status in rows}
        sent = {(run.split("-")[1], to) for run, channel, to, status in rows if status == "sent"}
        return {("patrol", "inbox", "bureau-01"), ("daily", "inbox", "bureau-01")} <= runs and (
            "daily",
            "dongguan",
        ) in sent

    rows = await eventually(lambda: asyncio.to_thread(filed, stack), delivered, timeout=60)
    assert await listed_schedules(stack) >= SCHEDULES
    async with await stack.client() as http:  # demo-bureau: 王建国, a dispatcher
        mine = (await http.get("/me/reports")).json()
    kinds = {report["run_id"].split("-")[1] for report in mine}
    assert {"patrol", "daily"} <= kinds, mine
    assert any("全县共登记信访事项1件" in report["text"] for report in mine)
    stack.stop()
    # One post per run to the unit's robot (besides its slips), each with the day's count.
    texts = [body["text"]["content"] for key, body in robots.wecom if key == "wecom-dongguan"]
    posted = [text for text in texts if text.startswith("信访工作日报")]
    runs = [
        run
        for run, channel, to, status in filed(stack)
        # The 巡查 posts the unit's own section too, when it has one: the 日报's runs only.
        if (channel, to, status) == ("wecom", "dongguan", "sent") and run.startswith("report-daily")
    ]
    assert len(posted) == len(runs) == len(set(runs)) >= 1 and rows
    assert all("全县共登记信访事项1件" in text for text in posted)
