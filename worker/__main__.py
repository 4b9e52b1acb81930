"""``python -m worker``: host the petition workflows and activities until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from activities.delivery import DirectoryAddresses, NoticeDispatch
from activities.upload import upstream_from_url
from core.database import prepare_store
from core.settings import get_settings
from core.temporal import connect, ensure_search_attributes
from domain.routing import PERSONAL_CHANNELS
from worker.runtime import (
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


async def main() -> None:
    settings = get_settings()
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
    worker = build_worker(
        client, settings.task_queue, sessions, upstream, dispatch, **sizing(settings)
    )
    notice_worker = (
        build_notice_worker(
            client,
            settings.notice_queue(),
            sessions,
            channels,
            DirectoryAddresses(),
            dispatch,
            max_concurrent_activities=settings.worker_max_concurrent_sends,
        )
        if dispatch is not None
        else contextlib.nullcontext()
    )
    report_worker = build_report_worker(client, report_queue(settings), sessions, channels)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker, notice_worker, report_worker:
        await ensure_schedules(client, settings)
        sweeper = asyncio.create_task(
            sweep_missing_workflows(client, settings.task_queue, sessions, settings.review_units)
        )
        log.info(
            "worker polling task queue %r on %s (policy day = %gs)",
            settings.task_queue,
            settings.temporal_address,
            settings.day_seconds,
        )
        await stop.wait()
        sweeper.cancel()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(main())
