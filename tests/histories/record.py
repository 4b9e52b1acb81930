"""Record the histories of the current PetitionWorkflow for replay tests.

    .venv/bin/python -m tests.histories.record tests/histories/<version>

runs a set of scenarios on the time-skipping test server with the real activities on a
throwaway SQLite database, and saves each workflow's history as <scenario>.json. Commit the
folder with each released workflow version: tests/test_replay.py replays every saved history
with the current code, so a change that would break a petition already running fails CI (keep
old behaviour behind ``workflow.patched``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from domain.contracts import (
    AssignRequest,
    DeclineRequest,
    ExtensionDecision,
    ExtensionRequest,
    OwnerRequest,
    RateRequest,
    ReviewRequest,
    TransferRequest,
    WithdrawRequest,
)
from domain.vocabulary import Rating
from store.db import dispose
from tests.helpers.county import COUNTY_LEADER, ON_BEHALF, XIHE_HEAD
from tests.helpers.settings import make_settings
from tests.helpers.store import open_store
from tests.helpers.temporal import temporal_server, worker_for
from tests.helpers.workflows import DAY, Case, start_case
from workflows.petition import PetitionWorkflow


async def chain_to_overdue(case: Case) -> None:
    await case.accept()
    await case.update(PetitionWorkflow.set_owner, OwnerRequest(owner=COUNTY_LEADER))
    await case.sleep(DAY * 31)
    await case.until(lambda s: s.overdue)


async def completed_and_rated(case: Case) -> None:
    await case.accept()
    await case.sleep(DAY * 8)
    await case.until(lambda s: s.level == 2)
    await case.complete()
    await case.until(lambda s: s.uploaded)
    await case.update(PetitionWorkflow.rate, RateRequest(rating=Rating.SATISFIED, **ON_BEHALF))
    await case.handle.result()


async def transferred_and_extended(case: Case) -> None:
    await case.update(
        PetitionWorkflow.transfer, TransferRequest(unit_id="xihe", reason="属西河乡管辖")
    )
    await case.sleep(DAY * 2)
    await case.until(lambda s: s.timeline[-1].kind == "reminder")
    await case.accept()
    await case.update(
        PetitionWorkflow.request_extension, ExtensionRequest(days=15, reason="需要现场核查")
    )
    await case.update(
        PetitionWorkflow.decide_extension, ExtensionDecision(approve=True, approver=XIHE_HEAD)
    )
    await case.sleep(DAY * 30)  # the chain moved by the 15 days approved
    await case.until(lambda s: s.level == 3)


async def reviewed_to_termination(case: Case) -> None:
    await case.accept()
    for reason in ("申请复查", "申请复核"):
        await case.complete("维持原处理意见。")
        await case.update(
            PetitionWorkflow.rate, RateRequest(rating=Rating.DISSATISFIED, **ON_BEHALF)
        )
        await case.update(PetitionWorkflow.request_review, ReviewRequest(reason=reason))
    await case.complete("复核意见：维持。")
    await case.sleep(DAY * 8)  # not rated within the revisit window: closed as terminated
    await case.until(lambda s: s.closure == "terminated")
    await case.handle.result()


async def registered_assigned_declined(case: Case) -> None:
    await case.sleep(DAY * 1.5)
    await case.until(lambda s: s.timeline[-1].kind == "reminder")
    await case.update(PetitionWorkflow.assign, AssignRequest(unit_id="dongguan"))
    await case.update(
        PetitionWorkflow.decline,
        DeclineRequest(reason="已进入诉讼程序", legal_basis="《信访工作条例》第三十一条"),
    )
    await case.handle.result()


async def withdrawn(case: Case) -> None:
    await case.accept()
    await case.sleep(DAY * 3)
    await case.update(PetitionWorkflow.withdraw, WithdrawRequest(reason="已和解", **ON_BEHALF))
    await case.handle.result()


async def unaccepted_past_the_limit(case: Case) -> None:
    await case.sleep(DAY * 16)  # the 15-day statutory limit: 督办 and 逾期未受理 (v4)
    await case.until(lambda s: s.unaccepted_overdue)
    await case.accept()  # late, but accepted
    await case.sleep(DAY * 1)


async def terminated_repeat_declined(case: Case) -> None:
    await case.handle.result()  # a repeat of a matter closed by 三级终结: 不予受理 at once (v4)


SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[Case], Awaitable[None]]]] = {
    "chain_to_overdue": ({}, chain_to_overdue),
    "completed_and_rated": ({}, completed_and_rated),
    "transferred_and_extended": ({}, transferred_and_extended),
    "reviewed_to_termination": ({}, reviewed_to_termination),
    "registered_assigned_declined": ({"unit_id": None}, registered_assigned_declined),
    "withdrawn": ({}, withdrawn),
    "unaccepted_past_the_limit": ({}, unaccepted_past_the_limit),
    "terminated_repeat_declined": ({"repeat_of": "XF-2025-000001"}, terminated_repeat_declined),
}


async def record(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Saved without the payload codec: the histories are read as they are.
    async with temporal_server(time_skipping=True, converter=pydantic_data_converter) as env:
        for name, (intake, scenario) in SCENARIOS.items():
            with tempfile.TemporaryDirectory() as tmp:
                settings = make_settings(Path(tmp))
                sessions = await open_store(settings, prepared=False)
                async with worker_for(env.client, settings, sessions):
                    case = await start_case(env, sessions, settings, **intake)
                    await scenario(case)
                    history = await case.handle.fetch_history()
                    # An open workflow with no worker would stall the test server's clock.
                    with contextlib.suppress(RPCError):
                        await case.handle.terminate("recorded")
                await dispose(sessions)
            (target / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
            print(f"recorded {name}: {len(history.events)} events")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    asyncio.run(record(Path(sys.argv[1])))
