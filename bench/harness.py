"""What every benchmark starts, in one place: a Temporal dev server, a read model (a SQLite file
or a throwaway PostgreSQL), the petition worker (``python -m worker``) and the API (uvicorn) as
processes of their own, as ``make run`` starts them; plus opening petitions in bulk, a
process's memory and percentiles. Benchmarks print figures; nothing here asserts."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core.database import prepare_store
from core.settings import PROJECT_DIR, Settings
from core.starter import ensure_started, start_input
from core.temporal import data_converter, ensure_search_attributes
from domain.contracts import AcceptRequest
from store import petitions
from store.db import dispose
from tests.helpers.ports import free_port
from tests.helpers.postgres import new_database, postgres_cluster
from tests.helpers.settings import binary
from tests.helpers.store import register_petition
from tests.helpers.temporal import temporal_address
from workflows.petition import PetitionWorkflow

T = TypeVar("T")

# The demo county's responsible units (store/demo_county.yaml): petitions are spread over them,
# and each is accepted by the unit's first case handler, "<unit>-h1".
UNITS = ["dongguan", "xihe", "chengnan", "kaifaqu", "renshe", "zhujian", "ziranziyuan"]
STARTUP_SECONDS = 120


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Timings:
    """Latencies (ms) of the calls that answered, and the failures counted by status or error."""

    ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    # The first answer of each failing status or error, to say what it was.
    examples: dict[str, str] = field(default_factory=dict)

    def p(self, q: float) -> float:
        return percentile(self.ms, q)

    def error_text(self) -> str:
        return ", ".join(f"{n}×{what}" for what, n in sorted(self.errors.items())) or "0"


async def timed(
    items: Iterable[T],
    concurrency: int,
    call: Callable[[T], Awaitable[Any]],
    timings: Timings | None = None,
) -> tuple[Timings, list[Any]]:
    """Run ``call`` on every item, ``concurrency`` at a time; time each call. A call answering an
    httpx response counts as an error unless it is 2xx; an exception counts by its type. Returns
    the timings and the answers of the calls that succeeded, in completion order."""
    timings = timings or Timings()
    answers: list[Any] = []
    pending = iter(items)

    async def lane() -> None:
        for item in pending:
            started = time.perf_counter()
            try:
                answer = await call(item)
            except Exception as exc:  # a benchmark counts failures, it does not stop on them
                timings.errors[type(exc).__name__] += 1
                timings.examples.setdefault(type(exc).__name__, str(exc)[:300])
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(answer, httpx.Response) and not answer.is_success:
                timings.errors[str(answer.status_code)] += 1
                timings.examples.setdefault(str(answer.status_code), answer.text[:300])
                continue
            timings.ms.append(elapsed)
            answers.append(answer)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return timings, answers


def machine() -> str:
    """The cores and their load: figures of a shared machine mean little without it."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) {five:.1f} (5 min)"


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, user and system (its /proc/<pid>/stat), its children's not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """A server's CPU and that of its children, the live (each one's /proc) and the exited
    (its reaped children's, cutime and cstime): PostgreSQL's postmaster and every backend it
    has had."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = sum(int(f) for f in fields[11:15])
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for kid in child.read_text().split():
            with contextlib.suppress(OSError):
                ticks += round(cpu_seconds(int(kid)) * os.sysconf("SC_CLK_TCK"))
    return ticks / os.sysconf("SC_CLK_TCK")


def children_named(command: str) -> list[int]:
    """This process's children whose command (``/proc/<pid>/comm``) is ``command``: the dev
    server (``temporal``), which the SDK starts and which is in no ``Stack.procs``."""
    found = []
    for listing in Path("/proc/self/task").glob("*/children"):
        for kid in listing.read_text().split():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{kid}/comm").read_text().strip() == command:
                    found.append(int(kid))
    return found


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
    return int(parent.split()[1])


async def postgres_server(running: Stack) -> tuple[int, int]:
    """PostgreSQL's postmaster (the parent of a backend) and the connections opened so far:
    each costs the server a process and its caches, so a pool that churns shows here."""
    async with running.sessions() as session:
        backend = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        opened = await session.execute(text("SELECT sum(sessions) FROM pg_stat_database"))
        sessions = int(opened.scalar_one())
    return parent_of(backend), sessions


def stack_cpu(running: Stack, postmaster: int | None = None) -> dict[str, float]:
    """CPU seconds so far of every process a benchmark runs on: its children (``Stack.procs``),
    the dev server, PostgreSQL with every backend it has had (``postmaster``), and the bench
    itself (its client calls and, on SQLite, nothing of the stack's). A phase's difference
    shows what a path costs the machine, the writes it sets off included."""
    # With their children: uvicorn's --workers are the API's processes.
    used = {name: tree_cpu_seconds(proc.pid) for name, proc in running.procs.items()}
    used["temporal"] = sum(cpu_seconds(pid) for pid in children_named("temporal"))
    if postmaster is not None:
        used["PostgreSQL"] = tree_cpu_seconds(postmaster)
    used["bench"] = time.process_time()
    return used


CACHE_METRICS = {
    "temporal_sticky_cache_hit": "hits",
    "temporal_sticky_cache_miss": "misses",
    "temporal_sticky_cache_total_forced_eviction": "forced evictions",
}


def workflow_cache(addresses: Iterable[str]) -> dict[str, float]:
    """The workflow caches so far of the workers whose metrics are at ``addresses``
    (``CACHE_METRICS``, every task queue and worker summed); empty when one cannot be read. A
    workflow evicted from the cache replays its whole history at its next step, which is what
    a step costs once thousands are open."""
    found = dict.fromkeys(CACHE_METRICS.values(), 0.0)
    for address in addresses:
        try:
            text = httpx.get(f"http://{address}/metrics", timeout=5).text
        except httpx.HTTPError:
            return {}
        for family in text_string_to_metric_families(text):
            if family.name in CACHE_METRICS:  # a counter's samples are named ``<family>_total``
                found[CACHE_METRICS[family.name]] += sum(s.value for s in family.samples)
    return found


def rss_mb(pid: int) -> float:
    """A process's resident memory (VmRSS of /proc/<pid>/status) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """What ``stack`` started: the settings its processes share, the dev server (its client
    speaks the petitions' data converter), the store's sessions and the child processes."""

    settings: Settings
    temporal: WorkflowEnvironment
    sessions: async_sessionmaker[Any]
    folder: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}/api/v1"

    @property
    def address(self) -> str:
        return self.settings.temporal_address

    async def spawn(
        self,
        name: str,
        args: list[str],
        ready: Callable[[str], bool],
        env: dict[str, str] | None = None,
    ) -> int:
        """Start ``python <args>`` with the stack's environment (and ``env``), its output in
        <folder>/<name>.log; return its pid once ``ready`` holds for that output (or fail,
        showing the log's end)."""
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            # Our own command line, never request input.
            proc = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, *args],
                cwd=PROJECT_DIR,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            text = log.read_text(errors="replace")
            if ready(text):
                return proc.pid
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{text[-3000:]}")
            await asyncio.sleep(0.2)

    async def start_worker(
        self, *args: str, name: str = "worker", env: dict[str, str] | None = None
    ) -> int:
        """``python -m worker`` with ``args`` (``--queues …``), once it polls."""
        return await self.spawn(
            name, ["-m", "worker", *args], lambda log: "worker polling" in log, env
        )

    async def start_api(self, processes: int = 1) -> int:
        """The API under uvicorn, as ``make run`` serves it: one process, or ``processes``
        (uvicorn's ``--workers``, one listening socket) as a replica per core would."""

        def ready(_log: str) -> bool:
            try:
                return httpx.get(self.api_url.replace("/api/v1", "/healthz"), timeout=1).is_success
            except httpx.HTTPError:
                return False

        return await self.spawn(
            "api",
            [
                "-m",
                "uvicorn",
                "--factory",
                "api.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.settings.api_port),
                "--log-level",
                "warning",
                "--no-access-log",
                *(["--workers", str(processes)] if processes > 1 else []),
            ],
            ready,
        )

    def stop(self) -> None:
        """SIGINT (what Ctrl-C sends) to each child, last started first; SIGKILL after 20 s."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _environment(settings: Settings) -> dict[str, str]:
    """The PETITIONFLOW_* variables that give a child process ``settings``."""
    values = {
        "DEV_MODE": "true",
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TASK_QUEUE": settings.task_queue,
        "DAY_SECONDS": repr(settings.day_seconds),
        "API_PORT": str(settings.api_port),
        "ACCESS_TOKEN_MINUTES": str(settings.access_token_minutes),
    }
    # Bytecode kept, as `make run` and the installed packages have it. A sandboxed workflow's
    # module is imported afresh for every workflow started or brought back into the cache, and
    # without a current .pyc compiled from source each time (2.3 ms, measured): the raw
    # baseline's workflow (bench/raw.py) and the notices' still run in the sandbox, and so did
    # the petition workflow before the ninth session, which the benches compare against.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **environment,
        **{f"PETITIONFLOW_{k}": v for k, v in values.items()},
        "PYTHONUNBUFFERED": "1",
    }


@asynccontextmanager
async def _database(postgres: bool, folder: Path) -> AsyncIterator[str]:
    """The read model's URL: a SQLite file in ``folder``, or a database of a throwaway cluster."""
    if not postgres:
        yield f"sqlite+aiosqlite:///{folder / 'petitionflow.db'}"
        return
    with postgres_cluster() as admin:
        yield await new_database(admin)


@asynccontextmanager
async def _dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server of ``make run`` (in memory here), quiet: its warnings about slow calls
    under load would bury the figures."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
    )
    async with env:
        await ensure_search_attributes(env.client, "default")
        yield env


@asynccontextmanager
async def stack(
    *,
    postgres: bool,
    day_seconds: float = 86400,
    worker: bool = True,
    api: bool = False,
    api_processes: int = 1,
) -> AsyncIterator[Stack]:
    """A dev server, a migrated read model with the demo county, and the worker and API when
    asked for; everything is thrown away on the way out."""
    with tempfile.TemporaryDirectory(prefix="petitionflow-bench-") as tmp:
        folder = Path(tmp)
        async with _database(postgres, folder) as url, _dev_server() as env:
            settings = Settings(
                database_url=url,
                data_dir=folder,
                temporal_address=temporal_address(env),
                task_queue="petitions",
                day_seconds=day_seconds,
                api_port=free_port(),
                dev_mode=True,
                # Officers sign in once per run, which may outlast the default 15 minutes.
                access_token_minutes=600,
            )
            # Migrated and seeded here, before the worker and the API race to do it.
            sessions = await prepare_store(settings)
            running = Stack(settings, env, sessions, folder, _environment(settings))
            print(f"machine: {machine()}", flush=True)
            try:
                if worker:
                    await running.start_worker()
                if api:
                    await running.start_api(api_processes)
                yield running
            finally:
                print(f"machine at the end: {machine()}", flush=True)
                running.stop()
                await dispose(sessions)


# --------------------------------------------------------------------------- petitions


async def open_petitions(
    running: Stack, count: int, *, concurrency: int = 8
) -> tuple[list[str], float]:
    """Register ``count`` petitions (a general-track matter for each unit in turn), start their
    workflows and accept them, ``concurrency`` at a time, the way the API does it but without
    HTTP: the intake record through the store, the start through core/starter.py, the accept as
    the workflow update. Returns their numbers and the seconds it took."""
    settings, client = running.settings, running.temporal.client
    opened: list[str] = []
    started = time.perf_counter()
    report_every = max(100, count // 10)

    async def open_one(n: int) -> None:
        petition_id = await register_petition(
            running.sessions,
            settings=settings,
            unit_id=UNITS[n % len(UNITS)],
            phone=f"139{n:08d}",
        )
        async with running.sessions() as session:
            row = await petitions.get(session, petition_id)
        assert row is not None
        await ensure_started(client, settings.task_queue, start_input(row, settings.review_units))
        handle = client.get_workflow_handle(petition_id)
        await handle.execute_update(PetitionWorkflow.accept, AcceptRequest())
        opened.append(petition_id)
        if len(opened) % report_every == 0:
            elapsed = time.perf_counter() - started
            print(f"  opened {len(opened):,} in {elapsed:.0f} s", flush=True)

    timings, _ = await timed(range(1, count + 1), concurrency, open_one)
    if timings.errors:
        print(f"  failed to open: {timings.error_text()}", flush=True)
    return opened, time.perf_counter() - started


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a benchmark's main; Ctrl-C stops it quietly after its processes are stopped."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main)
