"""Property-based check of the whole HTTP API against its own OpenAPI schema (schemathesis),
on the running stack, signed in: no request may produce a 5xx, and every response matches the
schema. And on PostgreSQL with the database stopped midway: 503, never 500."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.helpers.blackbox import PROJECT, Stack
from tests.helpers.ports import free_port
from tests.helpers.postgres import new_database, stoppable_cluster
from tests.helpers.settings import binary
from tests.helpers.waiting import eventually


def schemathesis(
    base: str,
    cwd: Path,
    authorization: str,
    *options: str,
    checks: str | None = "not_a_server_error,response_schema_conformance",
    examples: int = 10,
) -> str:
    """Run schemathesis on the API at ``base`` with ``checks`` (None: none, the caller reads
    the report) and ``examples`` per operation, deterministically."""
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


@contextlib.contextmanager
def api_process(tmp_path: Path, database_url: str, temporal: str) -> Iterator[str]:
    """The API alone (uvicorn, as in production) on ``database_url``; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "PETITIONFLOW_DATABASE_URL": database_url,
        "PETITIONFLOW_DATA_DIR": str(tmp_path),
        "PETITIONFLOW_TEMPORAL_ADDRESS": temporal,
        "PETITIONFLOW_DEV_MODE": "true",
        # No worker runs: an action's update is left unanswered, quickly (202, never 5xx).
        "PETITIONFLOW_TEMPORAL_RPC_TIMEOUT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app"]
    with (tmp_path / "api.log").open("ab") as log:
        proc = subprocess.Popen(
            [*command, "--port", str(port)], cwd=PROJECT, env=env, stdout=log, stderr=log
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
    temporal = dev_env.client.service_client.config.target_host
    with stoppable_cluster() as cluster:
        url = await new_database(cluster.dsn)
        with api_process(tmp_path, url, temporal) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                await eventually(_status(http, "/readyz"), lambda code: code == 200, timeout=60)
                signed = await http.post(
                    "/api/v1/auth/token", data={"username": "demo-bureau", "password": "demo"}
                )
                bearer = f"Bearer {signed.json()['access_token']}"
                st = ["--phases", "examples,fuzzing"]
                schemathesis(base, tmp_path, bearer, *st, checks="not_a_server_error", examples=1)
                cluster.stop()
                down = tmp_path / "down.har"
                schemathesis(
                    base, tmp_path, bearer, *st, "--report", "har", "--report-har-path",
                    str(down), checks=None, examples=1,
                )  # fmt: skip
                answers = _answers(down)
                wrong = [a for a in answers if a[1] >= 500 and a[1] != 503]
                assert not wrong, wrong[:5]
                unavailable = [a for a in answers if a[1] == 503]
                # Reached the database (past the schema's own 422s) and said so, in JSON.
                assert len(unavailable) > 20, answers[:20]
                for where, _, body in unavailable:  # /readyz names what is not ready
                    said = json.loads(body)
                    assert "unavailable" in said.get("detail", "") or "unreachable" in str(said), (
                        where
                    )
                ready = await http.get("/readyz")
                assert ready.status_code == 503 and "unreachable" in ready.json()["database"]
                cluster.start()
                await eventually(_status(http, "/readyz"), lambda code: code == 200)
                me = await http.get("/api/v1/auth/me", headers={"Authorization": bearer})
                assert me.status_code == 200, me.text
