"""``python -m worker`` outside dev mode refuses the public payload key before it touches
anything: a petition encrypted with a key everyone knows is not encrypted."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent.parent


def start_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker"],
        cwd=PROJECT,
        env={
            **os.environ,
            "PETITIONFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
            "PETITIONFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing listens: never reached
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_worker_refuses_the_public_payload_key_outside_dev_mode(tmp_path: Path) -> None:
    refused = start_worker(tmp_path, PETITIONFLOW_DEV_MODE="false")
    assert refused.returncode != 0
    assert "PETITIONFLOW_PAYLOAD_KEY is the default" in refused.stderr
    assert "SECRET_KEY" not in refused.stderr  # the worker signs no tokens
    assert not (tmp_path / "w.db").exists()  # refused before touching the database
    # With a key of its own it goes on (and fails later, on the missing Temporal server).
    key = base64.b64encode(os.urandom(32)).decode()
    started = start_worker(tmp_path, PETITIONFLOW_DEV_MODE="false", PETITIONFLOW_PAYLOAD_KEY=key)
    assert "PETITIONFLOW_PAYLOAD_KEY" not in started.stderr
    assert (tmp_path / "w.db").exists()
