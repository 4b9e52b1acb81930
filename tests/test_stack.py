"""Black box: ``python -m worker.stack`` (what ``make run`` runs), restarted mid-chain."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import PETITION
from tests.conftest import eventually

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.api_port = free_port()
        self.temporal_port = free_port()
        self.env = {
            **os.environ,
            "PETITIONFLOW_DAY_SECONDS": "0.5",
            "PETITIONFLOW_DATA_DIR": str(tmp_path),
            "PETITIONFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}",
            "PETITIONFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "PETITIONFLOW_TEMPORAL_UI_PORT": str(free_port()),
            "PETITIONFLOW_API_PORT": str(self.api_port),
        }
        self.log = tmp_path / "stack.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.api_port}/api/v1"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "worker.stack"],
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_up(self) -> None:
        async def printed() -> str:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            return self.log.read_text(encoding="utf-8", errors="replace")

        await eventually(
            printed, lambda text: text.count("petitionflow is up") > self.starts, timeout=120
        )
        self.starts += 1

    starts = 0

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        return self.proc.wait(timeout=60)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    yield running
    if running.proc is not None and running.proc.poll() is None:
        running.stop()


async def test_make_run_stack_survives_a_restart_mid_chain(stack: Stack) -> None:
    stack.start()
    await stack.wait_up()
    text = stack.log.read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{stack.api_port}/docs" in text
    assert "Temporal UI" in text
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        created = await http.post("/petitions", json=PETITION)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert (await http.post(f"/petitions/{pid}/accept")).status_code == 200

        async def state() -> dict[str, Any]:
            result: dict[str, Any] = (await http.get(f"/petitions/{pid}")).json()
            return result

        await eventually(state, lambda s: s["level"] == 2, timeout=30)

    assert stack.stop() == 0
    text = stack.log.read_text(encoding="utf-8")
    assert "stopping petitionflow" in text
    for port in (stack.api_port, stack.temporal_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"

    stack.start()
    await stack.wait_up()
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:

        async def state_after() -> dict[str, Any]:
            result: dict[str, Any] = (await http.get(f"/petitions/{pid}")).json()
            return result

        final = await eventually(state_after, lambda s: s["level"] == 4, timeout=60)
        supervision = [e["level"] for e in final["timeline"] if e["kind"] == "supervision"]
        assert supervision == [2, 3, 4]
        slips = (await http.get(f"/petitions/{pid}/notices")).json()
        keys = [n["key"] for n in slips]
        assert len(keys) == len(set(keys))
        assert keys[:4] == [
            "assignment",
            "petitioner-acceptance-handling",
            "reminder-before-escalation-L2",
            "escalation-L2",
        ]
        listing = (await http.get("/petitions")).json()
        assert [p["id"] for p in listing["items"]] == [pid]
    assert stack.stop() == 0
