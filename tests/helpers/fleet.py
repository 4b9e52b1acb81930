"""Several processes of petitionflow side by side — ``python -m worker`` and the API under
uvicorn — on one Temporal server and one database, as a scaled-out deployment runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client

from core.settings import Settings
from core.starter import ensure_started, start_input
from store import petitions
from tests.helpers.blackbox import PROJECT
from tests.helpers.ports import free_port
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, register_petition
from tests.helpers.waiting import eventually
from worker.stack import api_command

STARTUP_SECONDS = 120  # generous: four Python processes importing at once on a busy machine


class Process:
    """One child process with its output in a log file of its own."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                args, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def assert_running(self) -> None:
        """Fail with the process's log when it has exited."""
        code = self.proc.poll()
        assert code is None, f"{self.name} exited with status {code}:\n{self.output()}"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to Temporal; what a crashed machine does."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Fleet:
    """Workers and API processes sharing the settings in ``env`` (``PETITIONFLOW_*``)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.processes: list[Process] = []

    def _spawn(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, self.env, self.folder / f"{name}.log")
        self.processes.append(process)
        return process

    async def worker(self, name: str, *args: str) -> Process:
        """``python -m worker`` (with ``args``: ``--queues …``), once it polls its task queue."""
        process = self._spawn(name, [sys.executable, "-m", "worker", *args])

        async def polling() -> bool:
            return "worker polling" in process.output()

        await _until_up(process, polling)
        return process

    async def api(self, name: str) -> str:
        """The API on a free port, once it answers its health check; returns its base URL."""
        port = free_port()
        process = self._spawn(name, api_command("127.0.0.1", port))
        url = f"http://127.0.0.1:{port}"

        # One client for every probe: each new one loads the CA bundle (some 30 ms of CPU),
        # twenty times a second while the API is starting on the same two cores.
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get(f"{url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until_up(process, healthy)
        return f"{url}/api/v1"

    def assert_running(self, *, except_for: Process | None = None) -> None:
        for process in self.processes:
            if process is not except_for:
                process.assert_running()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


async def quiet_county(templates: Templates, folder: Path) -> Settings:
    """The demo county in a SQLite copy of its own, with policy days of an hour: nothing but
    the 交办单 is written while a mailing test runs."""
    copy = await templates.sqlite_copy(folder / "petitionflow.db")
    return make_settings(folder, database_url=copy, day_seconds=3600)


def mailing_fleet(folder: Path, settings: Settings, temporal: str, smtp_port: int) -> Fleet:
    """Workers with ``settings``' store and policy day on the Temporal at ``temporal``, mailing
    through the SMTP server on ``smtp_port``."""
    return Fleet(
        folder,
        {
            "PETITIONFLOW_DEV_MODE": "true",
            "PETITIONFLOW_DAY_SECONDS": str(settings.day_seconds),
            "PETITIONFLOW_DATA_DIR": str(folder),
            "PETITIONFLOW_DATABASE_URL": settings.database_url,
            "PETITIONFLOW_TEMPORAL_ADDRESS": temporal,
            "PETITIONFLOW_TASK_QUEUE": settings.task_queue,
            "PETITIONFLOW_WORKER_METRICS_ADDRESS": "",
            "PETITIONFLOW_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            # A killed process's claimed sends go again after half a minute, not two: a
            # send's own limit is half this (activities/outbox.py).
            "PETITIONFLOW_NOTICE_LEASE_SECONDS": "30",
        },
    )


async def start_petitions(
    client: Client, sessions: async_sessionmaker[Any], settings: Settings, count: int
) -> list[str]:
    """Register ``count`` petitions (assigned to 东关镇) and start their workflows; their ids."""
    started = []
    for _ in range(count):
        pid = await register_petition(sessions, settings=settings)
        async with sessions() as session:
            row = await petitions.get(session, pid)
        assert row is not None
        await ensure_started(client, settings.task_queue, start_input(row, []))
        started.append(pid)
    return started


async def _until_up(process: Process, up: Callable[[], Awaitable[bool]]) -> None:
    """Wait for ``up``; fail with the process's log when it exits or takes too long."""

    async def probe() -> bool:
        code = process.proc.poll()
        assert code is None, f"exited with status {code}"
        return await up()

    try:
        await eventually(probe, bool, timeout=STARTUP_SECONDS)
    except AssertionError as exc:
        raise AssertionError(f"{process.name} did not start: {exc}\n{process.output()}") from None


def thread_niceness(pid: int) -> set[int]:
    """The niceness of each of a process's threads (on Linux a niceness is a thread's)."""
    return {os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}
