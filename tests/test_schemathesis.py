"""Property-based check of the whole HTTP API against its own OpenAPI schema (schemathesis),
on the running stack: no request may produce a 5xx, and every response matches the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.blackbox import Stack

ST = Path(sys.executable).parent / "st"


async def test_no_server_error_and_no_schema_violation(stack: Stack, tmp_path: Path) -> None:
    stack.start()
    await stack.wait_up()
    # Authenticated as the bureau, who may call every operation but the audit trail's.
    token = (await stack.headers())["Authorization"]
    run = subprocess.run(
        [
            str(ST),
            "run",
            f"http://127.0.0.1:{stack.api_port}/openapi.json",
            "--header",
            f"Authorization: {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "10",
            "--request-timeout",
            "30",
            "--generation-deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "18/18" in run.stdout or "Tested:" in run.stdout
