"""Fixtures of the API tests: the API in-process and a worker, on the shared dev server."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.helpers.api import ApiClient, ApiFactory, serve_api
from tests.helpers.settings import make_settings
from tests.helpers.temporal import temporal_address


@pytest.fixture
def api(dev_env: WorkflowEnvironment, tmp_path: Path, store_url: str) -> ApiFactory:
    """Start the API with settings ``overrides`` (on a copy of the migrated template, SQLite
    and PostgreSQL) and a worker (unless ``worker=False``); once per test."""

    def running(worker: bool = True, **overrides: Any) -> AbstractAsyncContextManager[ApiClient]:
        settings = make_settings(
            tmp_path,
            **{
                "temporal_address": temporal_address(dev_env),
                "database_url": store_url,
                **overrides,
            },
        )
        return serve_api(dev_env.client, settings, worker=worker)

    return running
