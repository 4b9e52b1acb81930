"""The worker's sweep for missing workflows keeps sweeping whatever one round fails with: a
petition registered while Temporal was down must still start, however long the worker runs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from worker import runtime


async def test_the_sweep_survives_any_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[int] = []
    swept_again = asyncio.Event()

    async def failing_then_fine(*_: Any) -> int:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise ValueError("a row the sweep cannot read")  # neither RPC nor SQL
        swept_again.set()
        return 0

    monkeypatch.setattr(runtime, "start_missing_workflows", failing_then_fine)
    monkeypatch.setattr(runtime, "SWEEP_SECONDS", 0.0)
    sweep = asyncio.create_task(runtime.sweep_missing_workflows(None, "q", None, []))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(swept_again.wait(), timeout=30)
    finally:
        sweep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweep
    assert len(rounds) >= 2
