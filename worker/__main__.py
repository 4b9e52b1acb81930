"""``python -m worker``: host the petition workflows and activities until SIGINT/SIGTERM.

``--queues petitions`` hosts all but the notices' sends, ``--queues notices`` only those (the
task queue ``<task queue>-notices``): sends in a process of their own, on another core, so that
a burst of mail never takes the Python thread the chain's workflow tasks run on (README,
"Scaling out")."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvloop

from activities.delivery import DirectoryAddresses, NoticeDispatch
from activities.upload import upstream_from_url
from core.database import prepare_store
from core.heap import freeze_startup
from core.settings import get_settings
from core.temporal import connect, ensure_search_attributes
from domain.routing import PERSONAL_CHANNELS
from worker.niceness import lower_priority
from worker.runtime import (
    Drain,
    build_notice_worker,
    build_report_worker,
    build_worker,
    senders,
    sizing,
    sweep_missing_workflows,
    worker_runtime,
)
from worker.schedules import ensure_schedules, report_queue

log = logging.getLogger("petitionflow.worker")


QUEUES = ("all", "petitions", "notices")


async def main(queues: str = "all") -> None:
    settings = get_settings()
    lower_priority(queues, settings)  # first: the threads started below inherit it
    problems = [] if settings.dev_mode else settings.insecure_settings(signs_tokens=False)
    if problems:
        # The same rule as the API's: a public key would encrypt every petition for nobody.
        raise SystemExit(
            "refusing to start outside dev mode: "
            + "; ".join(problems)
            + " (set PETITIONFLOW_DEV_MODE=true for a trial on this machine)"
        )
    sessions = await prepare_store(settings)
    client = await connect(settings, worker_runtime(settings))
    await ensure_search_attributes(client, settings.temporal_namespace)
    freeze_startup()  # after the start's allocations: see core/heap.py
    upstream = upstream_from_url(settings.upstream_target(), token=settings.upstream_token)
    channels = senders(settings)
    dispatch = None
    if settings.notice_delivery:
        dispatch = NoticeDispatch(
            client,
            settings.notice_queue(),
            sessions,
            channels_on=bool(channels.keys() & PERSONAL_CHANNELS),
            robots_on=bool(channels.keys() - PERSONAL_CHANNELS),
            addresses=DirectoryAddresses(),
            senders=channels.keys(),
        )
    # Only the sends (``--queues notices``): nothing else polls, starts or schedules here.
    worker: Any = contextlib.nullcontext()
    report_worker: Any = contextlib.nullcontext()
    if queues != "notices":
        worker = build_worker(
            client, settings.task_queue, sessions, upstream, dispatch, **sizing(settings)
        )
        report_worker = build_report_worker(client, report_queue(settings), sessions, channels)
    notice_worker: Any = (
        build_notice_worker(
            client,
            settings.notice_queue(),
            sessions,
            channels,
            DirectoryAddresses(),
            dispatch,
            drain=Drain.of(settings),
            max_concurrent_activities=settings.worker_max_concurrent_sends,
        )
        if dispatch is not None and queues != "petitions"
        else contextlib.nullcontext()
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker, notice_worker, report_worker:
        sweeper = None
        if queues != "notices":
            await ensure_schedules(client, settings)
            sweeper = asyncio.create_task(
                sweep_missing_workflows(
                    client, settings.task_queue, sessions, settings.review_units
                )
            )
        log.info(
            "worker polling task queue %r on %s (policy day = %gs)",
            settings.notice_queue() if queues == "notices" else settings.task_queue,
            settings.temporal_address,
            settings.day_seconds,
        )
        await stop.wait()
        if sweeper is not None:
            sweeper.cancel()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--queues", choices=QUEUES, default="all", help="the task queues this process polls"
    )
    # uvloop: the same asyncio, on libuv, with less CPU for each socket read and each callback
    # from the Temporal SDK's core thread.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(parser.parse_args().queues))
