"""Property-based check of the whole HTTP API against its own OpenAPI schema (schemathesis),
on the running stack, signed in: no request may produce a 5xx, and every response matches the
schema."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers.blackbox import Stack
from tests.helpers.settings import binary


def schemathesis(stack: Stack, cwd: Path, authorization: str, *options: str) -> str:
    run = subprocess.run(
        [
            binary("st"),
            "run",
            f"http://127.0.0.1:{stack.api_port}/openapi.json",
            "--header",
            f"Authorization: {authorization}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "10",
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
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
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
    out = schemathesis(stack, tmp_path, bureau)
    selected = re.search(r"Selected: (\d+)/(\d+)", out)
    assert selected and selected.group(1) == selected.group(2), out[-1500:]
    # …and as the auditor, who reads it.
    out = schemathesis(stack, tmp_path, auditor, "--include-path-regex", "^/api/v1/audit")
    assert "Selected: 1/" in out, out[-1500:]
