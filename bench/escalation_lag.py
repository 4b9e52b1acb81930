"""Benchmark: escalation lag, how late each planned step's notice lands with many petitions open.

    .venv/bin/python -m bench.escalation_lag [--petitions 10000] [--day-seconds 6]
                                             [--concurrency 8] [--grace 120] [--workers 1]

Starts a Temporal dev server, a throwaway PostgreSQL and the petition worker
(``python -m worker``) on a compressed policy day (PETITIONFLOW_DAY_SECONDS=--day-seconds: the
default chain of four weeks and the 30-day deadline pass in 30 policy days). Opens --petitions
petitions, --concurrency at a time, without HTTP: the intake record through the store, the
workflow started with core/starter.py and accepted with the workflow's update (bench/harness.py).

Each petition's planned moments are computed as the worker plans them (domain.plan.handling_plan
from its policy and its acceptance time in the read model), and each step's lag is its notice
row's ``created_at`` (when the row was written) minus the planned moment. The timeline's ``at``
would not do: it is the moment the workflow recorded the step, after the holder was looked up.
Once every step has fallen due (plus --grace seconds at most for the stragglers), prints the
lag's p50/p99/max per kind of step, of every step, and of the steps planned once every
petition was open (none opening beside them), and checks that every planned notice is present
exactly once (by petition and key) and every step is on the timeline once. Targets of issue 9:
p99 ≤ 1 s (of every step), every planned notice exactly once.

With --deliver the worker mails every notice (issue 11) to a local SMTP server (aiosmtpd, as the
tests use), and the lag is also measured to each step notice's email delivery
(``notice_deliveries.delivered_at``): issue 11's target is that delivery adds no more than 1 s
to the p99. The SMTP server stands for a remote one: it runs in a process of its own (not on the
bench's event loop), though on this machine's cores; its CPU is printed at the end beside the
workers'. With --notice-worker the workers are those ``make run`` starts (worker/stack.py): the
sends in a process of their own (``python -m worker --queues notices``, niced by
PETITIONFLOW_NOTICE_WORKER_NICE), the chain in ``--queues petitions``. With --workers N the
chain runs in N worker processes, as a county scales out (README, "Scaling out"): each holds a
workflow cache of its own and takes its share of the steps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bench import harness
from bench.harness import (
    Stack,
    cpu_seconds,
    percentile,
    postgres_server,
    stack_cpu,
    verdict,
    workflow_cache,
)
from core.starter import start_input
from domain.plan import PlannedStep, StepKind, handling_plan
from domain.vocabulary import EventKind, NoticeKind, Track
from store.models import Notice, NoticeDelivery, Petition, TimelineEvent
from tests.helpers.ports import free_port
from worker.stack import port_open, worker_processes

LAG_TARGET_SECONDS = 1.0
CHUNK = 1000  # petitions per query: an IN list PostgreSQL plans quickly
STEP_EVENTS = {
    StepKind.REMINDER: EventKind.REMINDER,
    StepKind.ESCALATION: EventKind.SUPERVISION,
    StepKind.OVERDUE: EventKind.OVERDUE,
}

Plans = dict[str, list[PlannedStep]]
Landed = list[tuple[str, str, int, datetime]]  # petition, key, rows, first written


async def planned(running: Stack, ids: list[str]) -> Plans:
    """Every petition's plan, from its acceptance as the read model has it (waiting for the
    read model to catch up with the last accepts)."""
    plans: Plans = {}
    review_units = running.settings.review_units
    for n in range(0, len(ids), CHUNK):
        chunk = ids[n : n + CHUNK]
        for _ in range(600):
            async with running.sessions() as session:
                rows = list(await session.scalars(select(Petition).where(Petition.id.in_(chunk))))
            if all(row.accepted_at is not None for row in rows) and len(rows) == len(chunk):
                break
            await asyncio.sleep(0.1)
        for row in rows:
            if row.accepted_at is None:
                print(f"  {row.id} never shown accepted: left out", flush=True)
                continue
            policy = start_input(row, review_units).policy
            plans[row.id] = handling_plan(policy, Track(row.track), row.accepted_at)
    return plans


async def landed(running: Stack) -> Landed:
    """(petition, key, rows, first written) of every step notice in the outbox."""
    kinds = [NoticeKind.REMINDER.value, NoticeKind.SUPERVISION.value, NoticeKind.OVERDUE.value]
    async with running.sessions() as session:
        rows = await session.execute(
            select(Notice.petition_id, Notice.key, func.count(), func.min(Notice.created_at))
            .where(Notice.kind.in_(kinds))
            .group_by(Notice.petition_id, Notice.key)
        )
        return [(p, k, n, at) for p, k, n, at in rows.all()]


async def delivered(running: Stack) -> dict[tuple[str, str], datetime]:
    """When each step notice was delivered by email, by (petition, key)."""
    kinds = [NoticeKind.REMINDER.value, NoticeKind.SUPERVISION.value, NoticeKind.OVERDUE.value]
    async with running.sessions() as session:
        rows = await session.execute(
            select(Notice.petition_id, Notice.key, NoticeDelivery.delivered_at)
            .join(NoticeDelivery, NoticeDelivery.notice_id == Notice.id)
            .where(Notice.kind.in_(kinds), NoticeDelivery.delivered_at.is_not(None))
        )
        return {(p, k): at for p, k, at in rows.all()}


async def wait_for_deliveries(running: Stack, plans: Plans, grace: float) -> None:
    """Until every planned notice was delivered by email, or ``grace`` seconds."""
    planned = {(pid, step.key) for pid, steps in plans.items() for step in steps}
    deadline = time.monotonic() + grace
    while True:
        count = len(planned & (await delivered(running)).keys())
        print(f"  {count:,} of {len(planned):,} step notices delivered by email", flush=True)
        if count >= len(planned) or time.monotonic() > deadline:
            return
        await asyncio.sleep(5)


def report_deliveries(plans: Plans, sent: dict[tuple[str, str], datetime]) -> None:
    """The lag from each planned moment to its email delivery, beside the lag to the row."""
    lags = [
        (sent[(pid, step.key)] - step.at).total_seconds()
        for pid, plan in plans.items()
        for step in plan
        if (pid, step.key) in sent
    ]
    expected = sum(len(plan) for plan in plans.values())
    if not lags:
        print("no step notice was delivered by email")
        return
    p99 = percentile(lags, 99)
    print(
        f"delivered by email {len(lags):,} of {expected:,}: lag p50 {percentile(lags, 50):.2f} s,"
        f" p99 {p99:.2f} s, max {max(lags):.2f} s"
    )


async def recorded(running: Stack) -> Counter[tuple[str, str]]:
    """How many step events each petition's timeline has, by kind."""
    async with running.sessions() as session:
        rows = await session.execute(
            select(TimelineEvent.petition_id, TimelineEvent.kind, func.count())
            .where(TimelineEvent.kind.in_([kind.value for kind in STEP_EVENTS.values()]))
            .group_by(TimelineEvent.petition_id, TimelineEvent.kind)
        )
        return Counter({(p, k): n for p, k, n in rows.all()})


async def wait_for_steps(running: Stack, plans: Plans, grace: float) -> None:
    """Until every planned notice has landed, or the last planned moment is ``grace`` seconds
    past; progress every ten seconds."""
    planned = {(pid, step.key) for pid, steps in plans.items() for step in steps}
    expected = len(planned)
    last = max(step.at for steps in plans.values() for step in steps)
    while True:
        # Planned slips only: copies to others (逾期通报 to the county leaders) are no steps.
        count = len({(p, k) for p, k, _, _ in await landed(running)} & planned)
        late = (datetime.now(UTC) - last).total_seconds()
        print(
            f"  {count:,} of {expected:,} step notices written; the last falls due "
            f"{'in' if late < 0 else 'since'} {abs(late):.0f} s",
            flush=True,
        )
        if count >= expected or late > grace:
            return
        await asyncio.sleep(10)


def report(plans: Plans, notices: Landed, steps: Counter[Any], all_open: datetime) -> None:
    found = {(p, k): (n, at) for p, k, n, at in notices}
    lags: dict[str, list[float]] = defaultdict(list)
    missing = doubled = 0
    timeline_wrong = 0
    for petition_id, plan in plans.items():
        per_kind: Counter[str] = Counter()
        for step in plan:
            per_kind[STEP_EVENTS[step.kind].value] += 1
            row = found.get((petition_id, step.key))
            if row is None:
                missing += 1
                continue
            written, at = row
            doubled += written > 1
            lag = (at - step.at).total_seconds()
            lags[step.kind.value].append(lag)
            if step.at >= all_open:  # the steady state, no petitions opening beside it
                lags["once open"].append(lag)
            lags["every step"].append(lag)
        timeline_wrong += any(steps[(petition_id, kind)] != n for kind, n in per_kind.items())
    print(f"\n{'step':<12}{'notices':>9}{'p50 s':>9}{'p99 s':>9}{'max s':>9}")
    for kind, values in sorted(
        lags.items(), key=lambda item: item[0] in ("every step", "once open")
    ):
        print(
            f"{kind:<12}{len(values):>9,}{percentile(values, 50):>9.2f}"
            f"{percentile(values, 99):>9.2f}{max(values):>9.2f}"
        )
    p99 = percentile(lags["every step"], 99)
    expected = sum(len(plan) for plan in plans.values())
    print(
        f"planned notices {expected:,}: missing {missing:,}, written more than once {doubled:,}; "
        f"petitions whose timeline lacks or repeats a step: {timeline_wrong:,}"
    )
    print(f"target p99 ≤ {LAG_TARGET_SECONDS:g} s: {verdict(p99 <= LAG_TARGET_SECONDS)}")
    print(f"target every planned notice exactly once: {verdict(not missing and not doubled)}")


@dataclass(frozen=True)
class Run:
    """What a run measures: the command line's options."""

    count: int
    day_seconds: float
    concurrency: int
    grace: float
    deliver: bool
    split: bool  # the sends in a notices' worker of their own (--notice-worker)
    workers: int  # the chain's worker processes


async def main(run: Run) -> None:
    with contextlib.ExitStack() as servers:
        sink = None
        if run.deliver:
            port, sink = servers.enter_context(smtp_sink())
            # The worker children inherit this (bench/harness.py passes the environment on).
            os.environ["PETITIONFLOW_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            print(f"SMTP server: a process of its own (pid {sink.pid}) on port {port}", flush=True)
        await _measure(run, sink)


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """An SMTP server that takes every message and keeps nothing (aiosmtpd's ``Sink``), in a
    process of its own: a remote server's work is not the bench's, nor on its event loop."""
    port = free_port()
    # Our own command line, never request input.
    command = ["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    sink = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port):
            if sink.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the SMTP server did not start")
            time.sleep(0.1)
        yield port, sink
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def cpu_used(
    running: Stack, sink: subprocess.Popen[bytes] | None, postmaster: int
) -> dict[str, float]:
    """Each process's CPU seconds so far (``harness.stack_cpu``: the stack's, the dev server's,
    PostgreSQL's with every backend it has had, the bench's), and the SMTP server's."""
    used = stack_cpu(running, postmaster)
    if sink is not None:
        used["SMTP server"] = cpu_seconds(sink.pid)
    return used


def report_cpu(before: dict[str, float], after: dict[str, float], mailed: int) -> None:
    """Where the cores went once every petition was open: the steps, and the ``mailed`` sends
    made since."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    print("CPU once open: " + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in spent.items()))
    if mailed and "notices-worker" in spent:
        per_mail = spent["notices-worker"] / mailed * 1000
        print(f"the notices worker's CPU per email ({mailed:,} mailed): {per_mail:.1f} ms")


async def _measure(run: Run, sink: subprocess.Popen[bytes] | None) -> None:
    async with harness.stack(postgres=True, day_seconds=run.day_seconds, worker=False) as running:
        metrics = await start_workers(running, run.split, run.workers)
        print("workers: " + ", ".join(running.procs), flush=True)
        print(
            f"opening {run.count:,} petitions on PostgreSQL (policy day {run.day_seconds:g} s), "
            f"{run.concurrency} at a time: store + core/starter.py + the accept update",
            flush=True,
        )
        ids, seconds = await harness.open_petitions(running, run.count, concurrency=run.concurrency)
        all_open = datetime.now(UTC)
        postmaster, opened_before = await postgres_server(running)
        cpu_open, mailed_open = cpu_used(running, sink, postmaster), await emails_sent(running)
        cache_open = workflow_cache(metrics)
        print(f"opened {len(ids):,} in {seconds:.0f} s ({len(ids) / seconds:.1f}/s)", flush=True)
        plans = await planned(running, ids)
        started = time.perf_counter()
        await wait_for_steps(running, plans, run.grace)
        print(f"waited {time.perf_counter() - started:.0f} s for the steps", flush=True)
        report(plans, await landed(running), await recorded(running), all_open)
        if run.deliver:
            await wait_for_deliveries(running, plans, run.grace)
            report_deliveries(plans, await delivered(running))
        mailed = await emails_sent(running) - mailed_open
        report_cpu(cpu_open, cpu_used(running, sink, postmaster), mailed)
        report_cache(running, cache_open, workflow_cache(metrics), run.workers)
        opened = (await postgres_server(running))[1] - opened_before
        print(f"database connections opened once open: {opened:,}")


async def start_workers(running: Stack, split: bool, workers: int) -> list[str]:
    """The chain's ``workers`` worker processes (``python -m worker``, or with ``split`` its
    ``--queues petitions`` beside one notices' worker, as ``make run`` starts them), as a
    county scales out (README, "Scaling out"); returns where their metrics are served."""
    processes = worker_processes(running.settings) if split else [("worker", [], {})]
    metrics = []
    for name, args, env in processes:
        chain = name == "worker"
        for n in range(1, (workers if chain else 1) + 1):
            label, extra = name.replace(" ", "-"), dict(env)
            if chain:
                address = running.settings.worker_metrics_address
                if workers > 1:  # each its own metrics port
                    label, address = f"{label}-{n}", f"127.0.0.1:{free_port()}"
                    extra["PETITIONFLOW_WORKER_METRICS_ADDRESS"] = address
                metrics.append(address)
            await running.start_worker(*args, name=label, env=extra)
    return metrics


def report_cache(
    running: Stack, before: dict[str, float], after: dict[str, float], workers: int
) -> None:
    """The workflow caches once every petition was open: with more petitions open than they
    hold, most steps find their workflow evicted and replay its history first."""
    if not after:
        print("workflow cache: the worker's metrics could not be read")
        return
    spent = ", ".join(f"{what} {after[what] - before.get(what, 0.0):,.0f}" for what in after)
    size = running.settings.worker_max_cached_workflows
    holds = f"it holds {size:,}" if workers == 1 else f"each of {workers} workers holds {size:,}"
    # A task that waits longer than this for its worker goes to any worker, which replays it.
    waits = running.settings.worker_sticky_queue_timeout_seconds
    print(f"workflow cache once open ({holds} workflows, a task waits {waits:g} s): {spent}")


async def emails_sent(running: Stack) -> int:
    """Every notice mailed (step notices and the others: 告知, 交办, 催办 of an unsigned 督办)."""
    async with running.sessions() as session:
        sent = select(func.count()).where(
            NoticeDelivery.channel == "email", NoticeDelivery.delivered_at.is_not(None)
        )
        return int((await session.execute(sent)).scalar_one())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=10_000)
    parser.add_argument("--day-seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--grace", type=float, default=120.0)
    parser.add_argument("--deliver", action="store_true", help="mail every notice (issue 11)")
    parser.add_argument(
        "--notice-worker", action="store_true", help="the sends in a worker process of their own"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="the chain's worker processes (scaling out)"
    )
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers: at least one worker runs the chain")
    harness.run(
        main(
            Run(
                count=args.petitions,
                day_seconds=args.day_seconds,
                concurrency=args.concurrency,
                grace=args.grace,
                deliver=args.deliver,
                split=args.notice_worker,
                workers=args.workers,
            )
        )
    )
