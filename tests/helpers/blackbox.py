"""The local stack (``python -m worker.stack``, what ``make run`` runs) as a black box."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers.ports import free_port
from tests.helpers.waiting import eventually

PROJECT = Path(__file__).resolve().parents[2]


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.api_port = free_port()
        self.worker_metrics = f"127.0.0.1:{free_port()}"
        self.temporal_port = free_port()
        self.env = {
            **os.environ,
            "PETITIONFLOW_DAY_SECONDS": "0.5",
            "PETITIONFLOW_DATA_DIR": str(tmp_path),
            "PETITIONFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'petitionflow.db'}",
            "PETITIONFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "PETITIONFLOW_TEMPORAL_UI_PORT": str(free_port()),
            "PETITIONFLOW_API_PORT": str(self.api_port),
            # Its own port: stacks of tests running side by side would share the default.
            "PETITIONFLOW_WORKER_METRICS_ADDRESS": self.worker_metrics,
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

    def workers(self) -> dict[str, int]:
        """The stack's ``python -m worker`` children: their ``--queues`` and pid."""
        assert self.proc is not None
        found = {}
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, NotADirectoryError):
                continue  # not a process, or one that ended meanwhile
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self.proc.pid and b"worker" in args and b"--queues" in args:
                found[args[args.index(b"--queues") + 1].decode()] = int(entry.name)
        return found

    async def headers(
        self, username: str = "demo-bureau", password: str = "demo"
    ) -> dict[str, str]:
        """Sign in as the README says (dev mode: every demo user has the password demo)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            answer = await http.post(
                "/auth/token", data={"username": username, "password": password}
            )
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def client(self, username: str = "demo-bureau") -> httpx.AsyncClient:
        """An HTTP client on the stack's API, signed in as ``username``."""
        return httpx.AsyncClient(
            base_url=self.url, timeout=30, headers=await self.headers(username)
        )

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        return self.proc.wait(timeout=60)
