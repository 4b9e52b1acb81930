"""The API in-process with its real lifespan, a real worker beside it, and the few calls every
API test makes: register a petition, act on it, read it."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client

from api.deps import Services
from api.main import create_app
from core.settings import Settings
from store.db import dispose
from tests.helpers.county import BUREAU, PETITION, SERVICE_ACCOUNT
from tests.helpers.store import open_store
from tests.helpers.temporal import worker_for

V1 = "/api/v1"
PETITIONS = f"{V1}/petitions"


class ApiClient(httpx.AsyncClient):
    """An HTTP client on the in-process API, with the services its lifespan built. It is
    signed in as the bureau's dispatcher; ``as_user`` gives the headers of anyone else."""

    services: Services

    async def sign_in(self, username: str, password: str = "demo") -> httpx.Response:
        return await self.post(
            f"{V1}/auth/token",
            data={"username": username, "password": password},
            headers={"Authorization": ""},
        )

    async def as_user(self, username: str) -> dict[str, str]:
        """Authorization headers of ``username``, signed in with the demo password."""
        secret = self.services.settings.secret_key.get_secret_value()
        token, issued = _TOKENS.get((secret, username), ("", -TOKEN_REUSE))
        if time.monotonic() - issued >= TOKEN_REUSE:
            answer = await self.sign_in(username)
            assert answer.status_code == 200, answer.text
            token = answer.json()["access_token"]
            _TOKENS[(secret, username)] = (token, time.monotonic())
        return {"Authorization": f"Bearer {token}"}


# An access token is a stateless JWT naming the person, signed with the settings' secret: one
# got by signing in is good in every test's copy of the template until it expires (15 minutes).
# Reusing it spares each test a sign-in request. The sign-in itself is what
# tests/api/test_access.py tests.
TOKEN_REUSE = 5 * 60.0  # seconds a token is reused after it was issued
_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}


ApiFactory = Callable[..., AbstractAsyncContextManager[ApiClient]]


@asynccontextmanager
async def serve_api(
    client: Client, settings: Settings, *, worker: bool = True
) -> AsyncIterator[ApiClient]:
    """The API of ``settings`` (its database a copy of the migrated template) and a worker on
    its task queue (unless ``worker`` is False: the test starts one itself, ``worker_for``),
    with a client signed in as the bureau."""
    sessions = await open_store(settings)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        worker_for(client, settings, sessions) if worker else contextlib.nullcontext(),
        ApiClient(
            transport=httpx.ASGITransport(app=app), base_url="http://petitionflow.test"
        ) as http,
    ):
        http.services = app.state.services
        http.headers.update(await http.as_user(BUREAU))
        yield http
    await dispose(sessions)


async def key_headers(http: ApiClient, account: str = SERVICE_ACCOUNT) -> dict[str, str]:
    """The headers of a new API key of the service account ``account``, issued by the bureau."""
    issued = await http.post(
        f"{V1}/auth/api-keys", json={"name": "12345热线", "person_id": account}
    )
    assert issued.status_code == 201, issued.text
    return {"Authorization": "", "X-API-Key": issued.json()["key"]}


async def register(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """Register the demo petition, with ``changes`` (a change to None leaves the field out)."""
    body = {**copy.deepcopy(PETITION), **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = await http.post(PETITIONS, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def act(
    http: ApiClient,
    pid: str,
    action: str,
    body: Any = None,
    expect: int = 200,
    as_user: str | None = None,
) -> dict[str, Any]:
    """Post ``action`` as the bureau, or as ``as_user``; the answer must be ``expect``."""
    headers = await http.as_user(as_user) if as_user else None
    response = await http.post(f"{PETITIONS}/{pid}/{action}", json=body, headers=headers)
    assert response.status_code == expect, (action, response.text)
    result: dict[str, Any] = response.json()
    return result


async def page_of(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """A page of the list (GET /petitions), filtered by ``params``."""
    response = await http.get(PETITIONS, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def detail(http: httpx.AsyncClient, pid: str) -> dict[str, Any]:
    response = await http.get(f"{PETITIONS}/{pid}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
