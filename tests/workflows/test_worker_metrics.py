"""The worker's metrics for Prometheus: the Temporal SDK's own and the escalation lag, served by
the runtime ``worker.runtime.worker_runtime`` makes from the settings, as ``python -m worker``
runs it."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.metrics import ESCALATION_LAG
from activities.upload import UpstreamSystem
from core.temporal import metrics_runtime
from tests.helpers.ports import free_port
from tests.helpers.settings import make_settings
from tests.helpers.steps import supervision_step
from tests.helpers.temporal import temporal_server, worker_for
from tests.helpers.waiting import eventually
from tests.helpers.workflows import DAY, start_case, terminate
from worker.runtime import worker_runtime

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(address: str) -> tuple[set[str], Samples]:
    """The metric families served at ``address`` and their samples by (name, sorted labels)."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"http://{address}/metrics")
    assert answer.status_code == 200, answer.text
    families = list(text_string_to_metric_families(answer.text))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }
    return {family.name for family in families}, samples


def lag_counts(samples: Samples, task_queue: str) -> dict[str, float]:
    """The escalation-lag histogram's count by step kind, for one task queue."""
    counts: dict[str, float] = {}
    for (name, labels), value in samples.items():
        tags = dict(labels)
        if name == f"{ESCALATION_LAG}_count" and tags.get("task_queue") == task_queue:
            counts[tags["kind"]] = value
    return counts


async def test_the_worker_serves_sdk_metrics_and_the_lag_of_each_escalation_notice(
    tmp_path: Path, sessions: async_sessionmaker[Any], upstream: UpstreamSystem
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = make_settings(tmp_path, worker_metrics_address=address)
    runtime = worker_runtime(settings)
    assert runtime is not None
    started: list[str] = []
    async with (
        temporal_server(time_skipping=True, runtime=runtime) as env,
        worker_for(env.client, settings, sessions, upstream),
    ):
        try:
            case = await start_case(env, sessions, settings, started=started)
            await case.accept()
            # Day 6: the reminder (催办); day 7: the chain climbs to level 2 (督办).
            await case.sleep(DAY * 7.1)
            await case.until(lambda s: s.level == 2)
            await case.quiet()

            async def served() -> tuple[set[str], Samples]:
                return await scrape(address)

            families, samples = await eventually(
                served, lambda got: len(lag_counts(got[1], settings.task_queue)) == 2
            )
        finally:
            await terminate(env.client, started)
    # The SDK's own: polls, task latencies, activity executions of this worker's queue.
    assert any(name.startswith("temporal_") for name in families), sorted(families)
    assert any(
        name.startswith("temporal_") and dict(labels).get("task_queue") == settings.task_queue
        for name, labels in samples
    )
    # One observation per notice written: the registration, assignment and acceptance have no
    # planned moment and are not counted.
    assert lag_counts(samples, settings.task_queue) == {"reminder": 1, "supervision": 1}


def test_no_runtime_when_metrics_are_off_or_their_port_is_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert worker_runtime(make_settings(tmp_path, worker_metrics_address="")) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with caplog.at_level(logging.ERROR, logger="petitionflow.worker"):
            # A second worker on the machine: it runs without metrics and says so.
            assert worker_runtime(make_settings(tmp_path, worker_metrics_address=address)) is None
    assert f"no worker metrics on {address}" in caplog.text


async def test_the_lag_counts_from_the_planned_moment_not_from_when_the_step_was_taken(
    tmp_path: Path, sessions: async_sessionmaker[Any]
) -> None:
    """A worker that is behind takes a step late, and its timeline entry says when it took it:
    the lag the operator watches must include that wait, so it counts from the plan's moment."""
    taken = datetime.now(UTC)
    activities, record = await supervision_step(
        sessions, make_settings(tmp_path), tmp_path, at=taken
    )
    # Planned five minutes before the worker got to it.
    record.planned = {record.event.seq: taken - timedelta(minutes=5)}
    address = f"127.0.0.1:{free_port()}"
    runtime = metrics_runtime(address)  # kept: it serves the metrics while it lives
    env = ActivityEnvironment()
    env.metric_meter = runtime.metric_meter
    assert await env.run(activities.record_step, record)
    _, samples = await scrape(address)
    lag = {
        dict(labels)["kind"]: value
        for (name, labels), value in samples.items()
        if name == f"{ESCALATION_LAG}_sum"
    }
    assert lag.keys() == {"supervision"}
    assert 300 <= lag["supervision"] < 360, lag
