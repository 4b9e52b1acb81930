"""Property-based check of the whole HTTP API against its own OpenAPI schema (schemathesis),
on the running stack, signed in: no request may produce a 5xx, and every response matches the
schema. And on PostgreSQL with the database stopped midway: 503, never 500."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.settings import Settings
from tests.helpers.blackbox import Stack
from tests.helpers.ports import free_port
from tests.helpers.postgres import new_database, stoppable_cluster
from tests.helpers.settings import binary, make_settings
from tests.helpers.waiting import eventually


def schemathesis(
    base: str,
    cwd: Path,
    authorization: str,
    *options: str,
    checks: str | None = "not_a_server_error,response_schema_conformance",
    examples: int = 5,
) -> str:
    """Run schemathesis on the API at ``base`` with ``checks`` (None: none, the caller reads
    the report) and ``examples`` per operation, deterministically.

    Five fuzzed examples an operation, not ten: the coverage phase, whatever the number, already
    sends each operation its boundary and invalid cases (some 2,300 of the run's 2,600, the
    422s among them); the other five fuzzed examples cost 20 s of the suite's CPU and found
    nothing the first five did not."""
    run = subprocess.run(
        [
            binary("st"),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: {authorization}",
            "--checks",
            checks or "not_a_server_error",
            "--max-examples",
            str(examples),
            "--request-timeout",
            "30",
            "--generation-deterministic",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
    # Without checks its own verdict is not asked for: the caller reads the report.
    assert run.returncode == 0 or not checks, run.stdout[-6000:] + run.stderr[-2000:]
    print(run.stdout[-1500:])  # the summary, for the record (pytest -s shows it)
    return run.stdout


@pytest.mark.long(55)
async def test_no_server_error_and_no_schema_violation(stack: Stack, tmp_path: Path) -> None:
    stack.start()
    await stack.wait_up()
    # Both sign in first: the bureau's run maintains the directory with what it generates, and
    # may well set the auditor's password or rename them (a token, once issued, stays good).
    bureau = (await stack.headers())["Authorization"]
    auditor = (await stack.headers("audit-01"))["Authorization"]
    # As the bureau, who may call every operation but the audit trail's…
    base = f"http://127.0.0.1:{stack.api_port}"
    out = schemathesis(base, tmp_path, bureau)
    selected = re.search(r"Selected: (\d+)/(\d+)", out)
    assert selected and selected.group(1) == selected.group(2), out[-1500:]
    # …and as the auditor, who reads it.
    out = schemathesis(base, tmp_path, auditor, "--include-path-regex", "^/api/v1/audit")
    assert "Selected: 1/" in out, out[-1500:]


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The API served over HTTP (uvicorn, as in production) in this test's event loop, where
    its modules are imported already; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), port=port, log_config=None, access_log=False)
    )
    running = asyncio.create_task(server.serve())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await running


def _status(http: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[int]]:
    async def probe() -> int:
        try:
            return (await http.get(path)).status_code
        except httpx.TransportError:  # not listening yet
            return 0

    return probe


def _answers(har: Path) -> list[tuple[str, int, str]]:
    """Every request of a schemathesis run (its HAR report): path, status and body."""
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return [
        (e["request"]["url"], e["response"]["status"], e["response"]["content"].get("text", ""))
        for e in entries
    ]


async def test_on_postgresql_a_database_stopped_midway_answers_503_never_500(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Issue 10, item 16: PostgreSQL stopped under the running API (pg_ctl stop -m immediate:
    every pooled connection cut, new ones refused). Before, no 5xx; after, every answer is a
    4xx or a 503 saying why (asyncpg's errors are not SQLAlchemy's), /readyz says not ready;
    started again, the same process serves again."""
    with stoppable_cluster() as cluster:
        settings = make_settings(
            tmp_path,
            database_url=await new_database(cluster.dsn),
            temporal_address=dev_env.client.service_client.config.target_host,
            # No worker runs: an action's update goes unanswered, quickly (202, never a 5xx).
            temporal_rpc_timeout_seconds=1,
        )
        async with serving(settings) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
            await eventually(_status(http, "/readyz"), lambda code: code == 200, timeout=60)
            signed = await http.post(
                "/api/v1/auth/token", data={"username": "demo-bureau", "password": "demo"}
            )
            bearer = f"Bearer {signed.json()['access_token']}"
            # One case per operation in each phase, deterministic: quick, and the same each run.
            # In a thread: the API answers in this test's event loop meanwhile.
            run = functools.partial(
                schemathesis, base, tmp_path, bearer, "--phases", "examples,fuzzing", examples=1
            )
            await asyncio.to_thread(run, checks="not_a_server_error")
            cluster.stop()
            down = tmp_path / "down.har"
            await asyncio.to_thread(
                run, "--report", "har", "--report-har-path", str(down), checks=None
            )
            answers = _answers(down)
            assert not [a for a in answers if a[1] >= 500 and a[1] != 503], answers
            unavailable = [a for a in answers if a[1] == 503]
            # Past the schema's own 422s, every operation reached the database, and said so.
            assert len(unavailable) > 20, answers
            for where, _, body in unavailable:  # /readyz names what is not ready, in JSON too
                said = json.loads(body)
                assert said.get("detail") == "database unavailable, retry" or where.endswith(
                    "/readyz"
                ), (where, body)
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["database"]
            cluster.start()
            await eventually(_status(http, "/readyz"), lambda code: code == 200)
            me = await http.get("/api/v1/auth/me", headers={"Authorization": bearer})
            assert me.status_code == 200, me.text
