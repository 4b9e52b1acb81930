"""The API in-process (its real lifespan), a real worker, a real Temporal dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.deps import Services
from api.main import create_app
from store.db import dispose
from tests.conftest import fresh_store, make_settings, worker_for

BUREAU = "demo-bureau"  # the demo county's bureau dispatcher (dev mode: password "demo")


class ApiClient(httpx.AsyncClient):
    """An HTTP client on the in-process API, with the services its lifespan built. It is
    signed in as the bureau's dispatcher; ``as_user`` gives the headers of anyone else."""

    services: Services
    _tokens: dict[str, str]

    async def sign_in(self, username: str, password: str = "demo") -> httpx.Response:
        return await self.post(
            "/api/v1/auth/token",
            data={"username": username, "password": password},
            headers={"Authorization": ""},
        )

    async def as_user(self, username: str) -> dict[str, str]:
        """Authorization headers of ``username`` (signed in once per client)."""
        if username not in self._tokens:
            answer = await self.sign_in(username)
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}


ApiFactory = Callable[..., AbstractAsyncContextManager[ApiClient]]

PETITION: dict[str, Any] = {
    "channel": "visit",
    "petitioner": {"name": "李秀英", "phone": "13800138000"},
    "persons": 1,
    "category": "wage_dispute",
    "summary": "建筑工地拖欠农民工工资",
    "content": "本人在东关镇某建筑工地务工，工资被拖欠三个月共计两万四千元，多次讨要未果。",
    "unit_id": "dongguan",
    "track": "general",
}


def temporal_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@pytest.fixture
def api(dev_env: WorkflowEnvironment, tmp_path: Path, database_url: str) -> ApiFactory:
    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[ApiClient]:
        overrides = {
            "temporal_address": temporal_address(dev_env),
            "database_url": database_url,
            **overrides,
        }
        settings = make_settings(tmp_path, **overrides)
        sessions = await fresh_store(settings)
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            worker_for(dev_env.client, settings, sessions),
            ApiClient(
                transport=httpx.ASGITransport(app=app), base_url="http://petitionflow.test"
            ) as http,
        ):
            http.services = app.state.services
            http._tokens = {}
            http.headers.update(await http.as_user(BUREAU))
            yield http
        await dispose(sessions)

    return running
