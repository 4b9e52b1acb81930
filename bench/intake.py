"""Benchmark: the officers' paths through the API against a raw temporalio client, one run.

    .venv/bin/python -m bench.intake [--concurrency 4 32] [--count 200] [--postgres]
                                     [--api-processes 2]

Starts a Temporal dev server, the petition worker (``python -m worker``) and the API (uvicorn;
``--api-processes``: that many, uvicorn's ``--workers``) as processes of their own, on a SQLite
read model (``--postgres``: a throwaway PostgreSQL) and the default policy day, so no step of a
chain falls due during the run. Beside them, against the same dev server, the raw baseline
(bench/raw.py): a trivial four-level workflow with its own worker process and task queue,
driven by a plain temporalio client.

At each concurrency, ``--count`` calls of each path, API first, then raw, each side once the
workflows have written what the previous phase decided:
  register  API ``POST /petitions`` (as the bureau)        vs raw ``start_workflow``
  accept    API ``POST /petitions/{id}/accept`` (as the unit's first handler) vs ``execute_update``
  read      API ``GET /petitions/{id}`` (as the bureau)     vs raw ``query``
then ``--count`` more registered and accepted while one reader lists ``GET /petitions?unit_id=…``
(a pass of its own: the reader's load stays out of the ratios).
Every officer signs in once, and each path is called ``WARM_UP`` times on each side, untimed,
before the timed calls. Prints p50/p99 of each side, the errors (non-2xx by status,
exceptions by type), raw_p50/api_p50 and api_p99/raw_p99, each path against the targets of
issue 9: every ratio ≥ 0.8, API p99 ≤ 2× raw p99, zero errors at concurrency 32. Then what a call
cost the machine in CPU, each side's processes counted (the API, the worker, the dev server,
PostgreSQL, the bench's own client; the raw worker): on 2 cores the latencies under load follow
from it, and on the API's side it counts the writes a call sets off until the read model has them.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from temporalio.client import Client

from bench import harness
from bench.harness import UNITS, Stack, Timings, postgres_server, stack_cpu, timed, verdict
from bench.raw import RawPetition
from domain.vocabulary import Stage
from store.models import Petition
from tests.helpers.county import BUREAU, PETITION

RAW_QUEUE = "raw-petitions"
RATIO_TARGET = 0.8
P99_FACTOR_TARGET = 2.0
ERRORLESS_AT = 32
WARM_UP = 8  # calls of each path on each side before the timed ones
LIST_PAUSE = 0.02  # seconds between the list reader's requests: a supervisor clicking, hard


@dataclass
class Cpu:
    """CPU seconds each process spent on one side of a path: the timed calls, and on the API's
    side the writes they set off until the read model had them."""

    spent: dict[str, float]
    calls: int

    def per_call(self) -> float:
        """Milliseconds of CPU a call cost the machine, every process counted."""
        return sum(self.spent.values()) / max(self.calls, 1) * 1000

    def text(self) -> str:
        """Each process's share, the largest first; those under 0.05 ms left out."""
        per_call = {name: cpu / max(self.calls, 1) * 1000 for name, cpu in self.spent.items()}
        parts = sorted(((ms, name) for name, ms in per_call.items() if ms >= 0.05), reverse=True)
        return ", ".join(f"{name} {ms:.1f}" for ms, name in parts)


class Meter:
    """Measures the CPU of a phase across the stack's processes (``harness.stack_cpu``)."""

    def __init__(self, running: Stack, postmaster: int | None) -> None:
        self.running, self.postmaster = running, postmaster

    @asynccontextmanager
    async def phase(self, calls: int) -> AsyncIterator[Cpu]:
        cpu = Cpu({}, calls)
        before = stack_cpu(self.running, self.postmaster)
        yield cpu
        after = stack_cpu(self.running, self.postmaster)
        cpu.spent.update({name: after[name] - before.get(name, 0.0) for name in after})


@dataclass
class Pair:
    """One path at one concurrency: the API's timings and the raw client's, and what each side
    cost in CPU."""

    path: str
    concurrency: int
    api: Timings
    raw: Timings
    api_cpu: Cpu
    raw_cpu: Cpu

    def ratio(self) -> float:
        return self.raw.p(50) / self.api.p(50)

    def p99_factor(self) -> float:
        return self.api.p(99) / self.raw.p(99)

    def met(self) -> bool:
        errorless = self.concurrency < ERRORLESS_AT or not (self.api.errors or self.raw.errors)
        return self.ratio() >= RATIO_TARGET and self.p99_factor() <= P99_FACTOR_TARGET and errorless


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post("/auth/token", data={"username": username, "password": "demo"})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@asynccontextmanager
async def listing(http: httpx.AsyncClient, headers: dict[str, str], into: Timings) -> Any:
    """A supervisor listing one unit after another while the body of the block runs."""

    async def reader() -> None:
        n = 0
        while True:
            unit = UNITS[n % len(UNITS)]
            n += 1
            await timed(
                [unit],
                1,
                lambda u: http.get("/petitions", params={"unit_id": u}, headers=headers),
                into,
            )
            await asyncio.sleep(LIST_PAUSE)

    task = asyncio.create_task(reader())
    try:
        yield
    finally:
        task.cancel()


async def settled(running: Stack, ids: list[str], stage: Stage, patience: float = 120) -> None:
    """Until the read model shows every one of ``ids`` at ``stage`` (their workflows' writes
    done), or ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        async with running.sessions() as session:
            done = await session.scalar(
                select(func.count()).where(Petition.id.in_(ids), Petition.stage == stage.value)
            )
        if done == len(ids):
            return
        await asyncio.sleep(0.2)
    print(f"  (the read model had not caught up with {stage} after {patience:.0f} s)", flush=True)


async def one_concurrency(
    running: Stack,
    meter: Meter,
    http: httpx.AsyncClient,
    raw: Client,
    tokens: dict[str, dict[str, str]],
    concurrency: int,
    count: int,
    lists: Timings,
) -> list[Pair]:
    day = running.settings.day_seconds
    tag = uuid.uuid4().hex[:6]

    def body(n: int) -> dict[str, Any]:
        petition = copy.deepcopy(PETITION)
        petition["unit_id"] = UNITS[n % len(UNITS)]
        petition["petitioner"]["phone"] = f"138{n:08d}"
        return petition

    async def register(n: int) -> httpx.Response:
        return await http.post("/petitions", json=body(n), headers=tokens[BUREAU])

    async def start(n: int) -> str:
        handle = await raw.start_workflow(
            RawPetition.run, day, id=f"raw-{tag}-{n}", task_queue=RAW_QUEUE
        )
        return handle.id

    # Each side is timed on a machine at rest: the registrations' own writes (交办, slips) are
    # done before the raw client starts, as the raw workflows have nothing left to do. The API
    # side's CPU counts those writes too: they are what a registration costs the machine.
    async with meter.phase(count) as api_register_cpu:
        api_register, registered = await timed(range(count), concurrency, register)
        cases = [(p["id"], p["unit_id"]) for p in (r.json() for r in registered)]
        await settled(running, [pid for pid, _ in cases], Stage.ASSIGNED)
    async with meter.phase(count) as raw_start_cpu:
        raw_start, started = await timed(range(count), concurrency, start)

    unanswered: list[tuple[str, str]] = []  # accepts that answered 5xx: did they take effect?

    async def accept(case: tuple[str, str]) -> httpx.Response:
        petition_id, unit = case
        answer = await http.post(f"/petitions/{petition_id}/accept", headers=tokens[f"{unit}-h1"])
        if answer.status_code >= 500:
            unanswered.append(case)
        return answer

    async def update(workflow_id: str) -> Any:
        return await raw.get_workflow_handle(workflow_id).execute_update(RawPetition.accept, "h1")

    async with meter.phase(count) as api_accept_cpu:
        api_accept, _ = await timed(cases, concurrency, accept)
        await settled(running, [pid for pid, _ in cases], Stage.HANDLING)
    async with meter.phase(count) as raw_update_cpu:
        raw_update, _ = await timed(started, concurrency, update)

    async def read(case: tuple[str, str]) -> httpx.Response:
        return await http.get(f"/petitions/{case[0]}", headers=tokens[BUREAU])

    async def query(workflow_id: str) -> Any:
        return await raw.get_workflow_handle(workflow_id).query(RawPetition.state)

    async with meter.phase(count) as api_read_cpu:
        api_read, _ = await timed(cases, concurrency, read)
    async with meter.phase(count) as raw_query_cpu:
        raw_query, _ = await timed(started, concurrency, query)
    if unanswered:
        # Read after the other phases: the workflows had time to finish what they accepted.
        _, states = await timed(unanswered, concurrency, read)
        took = sum(state.json()["stage"] != "assigned" for state in states)
        print(
            f"  concurrency {concurrency}: {len(unanswered)} accepts answered 5xx; "
            f"{took} of them were accepted all the same (a false answer)",
            flush=True,
        )

    # The supervisor's list under the officers' writes: a pass of its own, so the reader's
    # requests do not weigh on the API side of the ratios above.
    async with listing(http, tokens[BUREAU], lists):
        _, more = await timed(range(count, 2 * count), concurrency, register)
        await timed(
            [(p["id"], p["unit_id"]) for p in (r.json() for r in more)], concurrency, accept
        )
    return [
        Pair(
            "register / start",
            concurrency,
            api_register,
            raw_start,
            api_register_cpu,
            raw_start_cpu,
        ),
        Pair(
            "accept / update", concurrency, api_accept, raw_update, api_accept_cpu, raw_update_cpu
        ),
        Pair("read / query", concurrency, api_read, raw_query, api_read_cpu, raw_query_cpu),
    ]


def report(pairs: list[Pair], lists: dict[int, Timings]) -> None:
    print(
        f"\n{'API / raw':<18}{'conc':>5}{'API p50':>9}{'p99':>8}{'raw p50':>9}{'p99':>8}"
        f"{'raw/API p50':>12}{'API/raw p99':>12}  errors API | raw"
    )
    for pair in pairs:
        api, raw = pair.api, pair.raw
        figures = [api.p(50), api.p(99), raw.p(50), raw.p(99), pair.ratio(), pair.p99_factor()]
        # No answer at all (every call failed) shows as "-", not as NaN.
        api_p50, api_p99, raw_p50, raw_p99, ratio, factor = (
            "-" if math.isnan(f) else f"{f:.2f}×" if i >= 4 else f"{f:.0f}"
            for i, f in enumerate(figures)
        )
        print(
            f"{pair.path:<18}{pair.concurrency:>5}{api_p50:>9}{api_p99:>8}{raw_p50:>9}{raw_p99:>8}"
            f"{ratio:>12}{factor:>12}  {api.error_text()} | {raw.error_text()}   "
            f"{verdict(pair.met())}"
        )
    print(
        f"targets: raw/API p50 ≥ {RATIO_TARGET}; API p99 ≤ {P99_FACTOR_TARGET:g}× raw p99; "
        f"zero errors at concurrency {ERRORLESS_AT} (ms)"
    )
    print(
        "\nCPU per call (ms, every process: on the API's side the writes a call sets off until "
        "the read model has them)"
    )
    for pair in pairs:
        api_cpu, raw_cpu = pair.api_cpu, pair.raw_cpu
        print(
            f"{pair.path:<18}{pair.concurrency:>5}  API {api_cpu.per_call():>6.1f} "
            f"({api_cpu.text()})  raw {raw_cpu.per_call():>5.1f} ({raw_cpu.text()})"
        )
    for concurrency, timings in lists.items():
        print(
            f"GET /petitions?unit_id=… under the write load at concurrency {concurrency}: "
            f"p50 {timings.p(50):.0f} ms, p99 {timings.p(99):.0f} ms "
            f"({len(timings.ms)} lists, errors {timings.error_text()})"
        )
    for pair in pairs:
        for side, timings in (("API", pair.api), ("raw", pair.raw)):
            for what, example in timings.examples.items():
                print(f"  {pair.path} at {pair.concurrency}, {side} {what}: {example}")
    met = all(pair.met() for pair in pairs)
    print(f"intake targets: {verdict(met)}")


async def main(concurrencies: list[int], count: int, postgres: bool, api_processes: int) -> None:
    async with harness.stack(postgres=postgres, api=True, api_processes=api_processes) as running:
        await running.spawn(
            "raw-worker",
            ["-m", "bench.raw", running.address, RAW_QUEUE],
            lambda log: "raw worker polling" in log,
        )
        raw = await Client.connect(running.address)
        # Idle connections expire here before uvicorn closes them (after 5 s): a request sent
        # on one the server is closing fails with nothing wrong in the API (RemoteProtocolError).
        limits = httpx.Limits(max_connections=max(concurrencies) + 8, keepalive_expiry=1)
        async with httpx.AsyncClient(base_url=running.api_url, timeout=120, limits=limits) as http:
            officers = [BUREAU, *(f"{unit}-h1" for unit in UNITS)]
            tokens = {who: await sign_in(http, who) for who in officers}
            print(
                f"read model {'PostgreSQL' if postgres else 'SQLite'}; {count} calls per path "
                f"and concurrency; API at {running.api_url} ({api_processes} process"
                f"{'es' if api_processes > 1 else ''})",
                flush=True,
            )
            # Untimed: on first use the API connects to Temporal and fills its database pool,
            # and each worker warms its workflow's code and caches, while the raw client is
            # connected already; timed, those first calls made the p99 a measure of start-up.
            postmaster = (await postgres_server(running))[0] if postgres else None
            meter = Meter(running, postmaster)
            await one_concurrency(running, meter, http, raw, tokens, 4, WARM_UP, Timings())
            print(f"  warmed up ({WARM_UP} calls of each path, not timed)", flush=True)
            pairs: list[Pair] = []
            lists: dict[int, Timings] = {}
            for concurrency in concurrencies:
                lists[concurrency] = Timings()
                pairs += await one_concurrency(
                    running, meter, http, raw, tokens, concurrency, count, lists[concurrency]
                )
                print(f"  concurrency {concurrency} done", flush=True)
        report(pairs, lists)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--count", type=int, default=200, help="calls per path and concurrency")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL read model")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="API processes (uvicorn --workers): 1 as make run serves it, 2 as README sizes "
        "a county",
    )
    args = parser.parse_args()
    harness.run(main(args.concurrency, args.count, args.postgres, args.api_processes))
