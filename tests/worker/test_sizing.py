"""How much one worker process holds is the operator's to set (README, "Scaling out"): the
settings reach the Temporal worker that ``python -m worker`` builds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from store.db import make_engine, make_sessionmaker
from tests.helpers.settings import make_settings
from tests.helpers.temporal import worker_for
from worker.runtime import sizing


def test_the_defaults_unless_told(tmp_path: Path) -> None:
    assert sizing(make_settings(tmp_path)) == {
        "max_cached_workflows": 500,  # the worker's memory target (README, "Scaling out")
        "max_concurrent_activities": 100,
        # One Python thread works them: more would queue inside the process past the timeout.
        "max_concurrent_workflow_tasks": 20,
        # The SDK's own: a dead worker's petitions move on within seconds.
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=10),
    }


async def test_the_worker_holds_what_the_settings_say(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETITIONFLOW_WORKER_MAX_CACHED_WORKFLOWS", "250")
    monkeypatch.setenv("PETITIONFLOW_WORKER_MAX_CONCURRENT_ACTIVITIES", "20")
    monkeypatch.setenv("PETITIONFLOW_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "8")
    monkeypatch.setenv("PETITIONFLOW_WORKER_STICKY_QUEUE_TIMEOUT_SECONDS", "60")
    settings = Settings(data_dir=tmp_path, dev_mode=True)
    sessions = make_sessionmaker(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"))
    config = worker_for(dev_env.client, settings, sessions, **sizing(settings)).config()
    assert config["max_cached_workflows"] == 250
    assert config["max_concurrent_activities"] == 20
    assert config["max_concurrent_workflow_tasks"] == 8
    assert config["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=60)
