"""The raw baseline of bench/intake.py: a trivial four-level petition workflow and its worker,
on a task queue of its own and a plain temporalio client (no codec, no database, no HTTP).

What the API is measured against: an ``accept`` update that answers at once, a ``state`` query,
and a timer per level of the chain, so each workflow lives as long as a real one would. Its
worker keeps the SDK's defaults (the workflow sandbox, asyncio's loop), as a plain temporalio
worker has them; the petition worker runs outside the sandbox on uvloop (README, "Benchmarks").

    python -m bench.raw <temporal address> <task queue>   # the worker, until SIGINT/SIGTERM
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

LEVELS = 4
LEVEL_DAYS = 7


@workflow.defn(name="RawPetition")
class RawPetition:
    def __init__(self) -> None:
        self._stage = "assigned"
        self._level = 0
        self._handler: str | None = None

    @workflow.run
    async def run(self, day_seconds: float) -> None:
        await workflow.wait_condition(lambda: self._handler is not None)
        for level in range(1, LEVELS + 1):
            self._level = level
            await workflow.sleep(timedelta(seconds=LEVEL_DAYS * day_seconds))
        self._stage = "overdue"

    @workflow.update
    async def accept(self, handler: str) -> dict[str, Any]:
        self._stage, self._handler, self._level = "handling", handler, 1
        return self.state()

    @accept.validator
    def refuse_twice(self, handler: str) -> None:
        if self._handler is not None:
            raise ValueError("accepted already")

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {"stage": self._stage, "level": self._level, "handler": self._handler}


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[RawPetition]):
        print(f"raw worker polling {task_queue}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
