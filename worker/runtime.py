"""Building and running the worker: shared by ``python -m worker``, the local stack and tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import importlib.metadata
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig, WorkerDeploymentVersion

from activities.channels import Sender
from activities.channels.configured import http_senders
from activities.channels.email import EmailSender, SmtpServer
from activities.delivery import AddressBook, DeliveryActivities, NoticeDispatch
from activities.metrics import HISTOGRAM_BUCKETS
from activities.outbox import Drainer, wall_clock
from activities.petition import PetitionActivities
from activities.reports import ReportActivities
from activities.upload import UpstreamSystem
from core.settings import Settings
from core.starter import WorkflowIdentityConflict, ensure_started, start_input
from core.temporal import metrics_runtime
from domain.delivery import DeliveryChannel
from store import petitions
from workflows.notice_delivery import NoticeDelivery
from workflows.petition import PetitionWorkflow
from workflows.reports import ReportRunWorkflow

log = logging.getLogger("petitionflow.worker")

PROJECT = Path(__file__).resolve().parents[1]
# The packages a worker runs; their source is its code.
WORKER_CODE = ("workflows", "activities", "domain", "store", "core", "worker")


@functools.cache
def build_id() -> str:
    """The worker's build id, which Temporal records on each workflow task it completes."""
    return code_hash(PROJECT, importlib.metadata.version("temporalio"))


def deployment() -> WorkerDeploymentConfig:
    """Every worker's build, named (``build_id``) without Temporal's worker versioning: left
    unnamed, the SDK reads the code of every module loaded to hash it, and compiles it again
    where no bytecode is cached (some 0.15 s of CPU a worker start, more in a process that has
    imported more). The deployment config is the SDK's way to name it (its ``build_id``
    argument is deprecated); with versioning off the server registers no deployment."""
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name="petitionflow", build_id=build_id()),
        use_worker_versioning=False,
    )


def code_hash(root: Path, sdk_version: str) -> str:
    """A hash of the source of the worker's packages under ``root`` and the SDK's version: it
    changes with the code a worker runs, and not with the web front, the tests or the docs."""
    digest = hashlib.sha256(sdk_version.encode())
    for package in WORKER_CODE:
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode() + b"\0")
            digest.update(source.read_bytes())
    return f"petitionflow-{digest.hexdigest()[:16]}"


def build_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[Any],
    upstream: UpstreamSystem,
    notices: NoticeDispatch | None = None,
    **options: Any,
) -> Worker:
    """The petition worker; ``options`` go to ``temporalio.worker.Worker`` (tests tune caching).
    With ``notices`` each notice written starts its delivery (``build_notice_worker``)."""
    activities = PetitionActivities(sessions, upstream, notices)
    return Worker(
        client,
        task_queue=task_queue,
        deployment_config=deployment(),
        workflows=[PetitionWorkflow],
        activities=[
            activities.find_role_holder,
            activities.plan_handling,
            activities.record_chain_step,
            activities.record_step,
            activities.upload_reply,
            activities.write_acceptance_notice,
            activities.workday_calendar,
        ],
        **options,
    )


def build_notice_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[Any],
    senders: dict[DeliveryChannel, Sender],
    addresses: AddressBook,
    dispatch: NoticeDispatch,
    *,
    drain: Drain | None = None,
    **options: Any,
) -> Worker:
    """The notices' worker (issue 11): their delivery workflows and activities, on their own
    task queue (Settings.notice_queue), and beside them the outbox's drainer (the patch
    ``deliveries-outboxed``), which sends while the worker runs."""
    activities = DeliveryActivities(sessions, senders, addresses, dispatch)
    drain = drain or Drain()
    drainer = Drainer(
        sessions,
        senders,
        dispatch,
        slots=drain.slots or options.get("max_concurrent_activities") or 10,
        poll_seconds=drain.poll_seconds,
        lease_seconds=drain.lease_seconds,
        clock=drain.clock,
    )
    return NoticeWorker(
        client,
        drainer=drainer,
        task_queue=task_queue,
        deployment_config=deployment(),
        workflows=[NoticeDelivery],
        activities=[
            activities.delivery_targets,
            activities.deliver_notice,
            activities.deliver_notices,
            activities.report_undelivered,
            activities.remind_unsigned,
            activities.remind_unsigned_and_send,
        ],
        **options,
    )


@dataclass(frozen=True)
class Drain:
    """How the outbox's drainer runs (Settings: PETITIONFLOW_NOTICE_POLL_SECONDS and
    PETITIONFLOW_NOTICE_LEASE_SECONDS; ``slots``: the sends at once, by default the worker's
    PETITIONFLOW_WORKER_MAX_CONCURRENT_SENDS); ``clock``: the tests' time-skipping time."""

    poll_seconds: float = 0.3
    lease_seconds: float = 120.0
    slots: int | None = None
    clock: Callable[[], Awaitable[datetime]] = wall_clock

    @classmethod
    def of(cls, settings: Settings) -> Drain:
        return cls(
            poll_seconds=settings.notice_poll_seconds,
            lease_seconds=settings.notice_lease_seconds,
            slots=settings.worker_max_concurrent_sends,
        )


class NoticeWorker(Worker):
    """The notices' Temporal worker, running the outbox's drainer for as long as it runs."""

    def __init__(self, *args: Any, drainer: Drainer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drainer = drainer

    async def run(self) -> None:
        draining = asyncio.create_task(self._drainer.run())
        try:
            await super().run()
        finally:
            draining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await draining


def build_report_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[Any],
    senders: dict[DeliveryChannel, Sender],
    **options: Any,
) -> Worker:
    """The reports' scheduled runs (issue 13, worker/schedules.py) on their own task queue."""
    activities = ReportActivities(sessions, senders)
    return Worker(
        client,
        task_queue=task_queue,
        deployment_config=deployment(),
        workflows=[ReportRunWorkflow],
        activities=[
            activities.report_workday,
            activities.file_report_run,
            activities.post_report,
        ],
        **options,
    )


def senders(settings: Settings) -> dict[DeliveryChannel, Sender]:
    """The channels this deployment can send on, from its settings; each one off is said once
    at start (its notices still reach the inbox)."""
    found: dict[DeliveryChannel, Sender] = {}
    smtp_url = settings.smtp_url.get_secret_value()
    if smtp_url:
        server = SmtpServer.from_url(
            smtp_url,
            starttls=settings.smtp_starttls,
            validate_certs=settings.smtp_validate_certs,
            timeout=settings.smtp_timeout_seconds,
        )
        # One open connection per send slot, reused from message to message.
        found[DeliveryChannel.EMAIL] = EmailSender(
            server, settings.mail_from, connections=settings.worker_max_concurrent_sends
        )
        log.info("email channel on: %s:%s", server.host, server.port)
    else:
        log.info("email channel off (no PETITIONFLOW_SMTP_URL)")
    # SMS when a gateway is set; the group robots always: their URLs are in the directory.
    found.update(http_senders(settings))
    if DeliveryChannel.SMS not in found:
        log.info("SMS channel off (no PETITIONFLOW_SMS_GATEWAY_URL)")
    return found


def sizing(settings: Settings) -> dict[str, Any]:
    """What one worker process holds (README, "Scaling out"), as ``build_worker`` options: the
    workflows cached between their steps, the activities and workflow tasks run at once, and
    how long a cached petition's task waits for this worker before another may take it."""
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "sticky_queue_schedule_to_start_timeout": timedelta(
            seconds=settings.worker_sticky_queue_timeout_seconds
        ),
    }


async def start_missing_workflows(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[Any],
    review_units: list[str],
) -> int:
    """Start the workflow of every petition registered but never confirmed started (the API
    crashed, or Temporal was down, between the intake row and the start). Nothing is lost."""
    async with sessions() as session:
        pending = await petitions.not_started(session)
    for row in pending:
        try:
            await ensure_started(client, task_queue, start_input(row, review_units))
        except WorkflowIdentityConflict:
            continue  # logged as an error; the others still start, this one stays unstarted
        async with sessions() as session:
            await petitions.mark_started(session, row.id)
        log.info("started the missing workflow of %s", row.id)
    return len(pending)


SWEEP_SECONDS = 60.0


async def sweep_missing_workflows(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[Any],
    review_units: list[str],
) -> None:
    """Run ``start_missing_workflows`` at start and every minute after: a petition registered
    while Temporal was down starts as soon as Temporal is back, without a restart."""
    while True:
        try:
            await start_missing_workflows(client, task_queue, sessions, review_units)
        except (RPCError, SQLAlchemyError) as exc:
            log.warning("could not start missing workflows yet: %s", exc)
        except Exception:
            # Anything else (a malformed row, a driver's own error, a bug) must not end the
            # sweep for the life of the worker: logged with its traceback, tried again later.
            log.exception("the sweep for missing workflows failed; trying again later")
        await asyncio.sleep(SWEEP_SECONDS)


def worker_runtime(settings: Settings) -> Runtime | None:
    """The SDK runtime serving the worker's metrics where the settings say; None (the default
    runtime, no metrics) when they are off or the address cannot be bound. A port taken (a
    second worker on the machine with the same setting) costs the metrics, not the escalations:
    the worker still runs, and says so."""
    address = settings.worker_metrics_address
    if not address:
        return None
    try:
        runtime = metrics_runtime(address, HISTOGRAM_BUCKETS)
    except ValueError as exc:
        log.error("no worker metrics on %s: %s", address, exc)
        return None
    log.info("worker metrics at http://%s/metrics", address)
    return runtime
