"""Benchmark: the supervisors' list queries on PostgreSQL with 100,000 petitions.

    .venv/bin/python -m bench.list_queries [--petitions 100000] [--runs 200]
                                           [--with-writes [--writes-per-second 200]]

Starts a throwaway PostgreSQL cluster (tests/helpers/postgres.py), migrates it, fills it with
petitions spread over the demo county's units, stages, levels, categories and deadlines, then
times each list query of the API (by unit, level, overdue, due soon, category; paginated, with
the total) through the store layer and prints p50 / p95 in milliseconds. Target: p95 < 50 ms
on a 2-core machine. A benchmark prints figures; it asserts nothing.

``--with-writes``: while the queries are timed, a process of its own writes as the worker's
projections and the API's registrations do, --writes-per-second transactions in all over four
connections: four in five move a petition one step (its row updated, a timeline event added),
one in five registers a new petition. Target of issue 9: p95 ≤ 50 ms under those writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import machine, verdict
from core.database import prepare_store
from core.settings import Settings
from store import petition_lists
from store.db import dispose
from store.petition_lists import PetitionFilter
from tests.helpers.postgres import new_database, postgres_cluster

UNITS = ["dongguan", "xihe", "chengnan", "kaifaqu", "renshe", "zhujian", "ziranziyuan"]
CATEGORIES = [
    "wage_dispute",
    "agriculture_rural",
    "civil_assistance",
    "demolition_compensation",
    "environment",
    "accusation",
    "litigation",
    "urban_rural_construction",
    "labour_social_security",
    "other",
]
STAGES = [
    "assigned",
    "handling",
    "handling",
    "handling",
    "overdue",
    "replied",
    "closed",
    "closed",
    "closed",
    "closed",
]


OPEN_DAYS = 60  # a petition's handling (30 days) and revisit window, and some review


def first_open(count: int) -> int:
    """The number of the oldest petition still open: those after it are the last OPEN_DAYS'."""
    return int(count * (1 - OPEN_DAYS / 365))


def rows(count: int, now: datetime) -> list[tuple[Any, ...]]:
    rng = random.Random(2026)
    # The policy each petition keeps for its life (the book and the day, some 2 KB of JSON), as
    # a registration writes it: the rows as wide as the API's, not a few bytes.
    policy = json.dumps(Settings(data_dir=Path("/tmp")).policy_snapshot())
    out = []
    for n in range(1, count + 1):
        # In registration order, as a county's table grows (the rows of a year, oldest first):
        # only the last OPEN_DAYS' petitions are still open, the others closed long since.
        registered = now - timedelta(days=365 * (count - n) / count)
        stage = rng.choice(STAGES) if n > first_open(count) else "closed"
        level = rng.randint(1, 4) if stage in ("handling", "overdue", "replied", "closed") else None
        due = (
            now + timedelta(days=rng.uniform(-10, 30))
            if stage in ("handling", "assigned")
            else None
        )
        out.append(
            (
                f"XF-2026-{n:06d}",
                rng.choice(["letter", "visit", "online", "phone"]),
                "某某",
                f"138{n:08d}",
                1,
                rng.choice(CATEGORIES),
                "工资拖欠",
                "内容",
                rng.choice(UNITS),
                rng.choice(["simple", "general"]),
                registered,
                "2026.1",
                policy,
                None,
                True,
                stage,
                "handling",
                level,
                stage == "overdue",
                None,
                None,
                False,
                None,
                registered,
                None,
                None,
                "[]",
                due,
                3,
                registered,
            )
        )
    return out


COLUMNS = [
    "id",
    "channel",
    "petitioner_name",
    "petitioner_phone",
    "persons",
    "category",
    "summary",
    "content",
    "unit_id",
    "track",
    "registered_at",
    "policy_version",
    "policy",
    "repeat_of",
    "workflow_started",
    "stage",
    "phase",
    "level",
    "overdue",
    "closure",
    "rating",
    "uploaded",
    "assigned_at",
    "accepted_at",
    "completed_at",
    "reply",
    "deadlines",
    "next_due_at",
    "projected_seq",
    "updated_at",
]


async def fill(dsn: str, count: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "petitions", records=rows(count, datetime.now(UTC)), columns=COLUMNS
        )
        # A county's table grew over years and autovacuum has visited it many times: its
        # visibility map is set, so the lists' index-only scans and counts need not read the
        # rows. One filled in a single COPY has none until a VACUUM (without it every count
        # read the heap and the bench measured a table no county has).
        await connection.execute("VACUUM (ANALYZE) petitions")
    finally:
        await connection.close()


WRITERS = 4  # connections of the write load
TARGET_P95_MS = 50.0


async def write(dsn: str, count: int, per_second: float, stop: Event) -> int:
    """Write until ``stop`` is set; return the transactions done. Each connection paces itself
    to its share of ``per_second``."""
    pool = await asyncpg.create_pool(dsn, min_size=WRITERS, max_size=WRITERS)
    template = list(rows(1, datetime.now(UTC))[0])
    run = f"{random.randrange(10_000):04d}"  # a reused database keeps the last runs' petitions
    insert = (
        f"INSERT INTO petitions ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join(f'${n}' for n in range(1, len(COLUMNS) + 1))})"
    )

    async def writer(lane: int) -> int:
        rng = random.Random(lane)
        done = 0
        interval = WRITERS / per_second
        next_at = time.monotonic()
        while not stop.is_set():
            now = datetime.now(UTC)
            async with pool.acquire() as connection, connection.transaction():
                if done % 5 == 4:  # a registration
                    row = [*template]
                    row[0], row[-1], row[10] = f"XF-2027-{run}{lane}{done:07d}", now, now
                    await connection.execute(insert, *row)
                else:  # a step of a petition projected: its row and one timeline event
                    # A closed petition takes no more steps: the steps are the open ones'.
                    petition_id = f"XF-2026-{rng.randint(first_open(count) + 1, count):06d}"
                    seq = await connection.fetchval(
                        "UPDATE petitions SET stage = $2, level = $3, overdue = $4, "
                        "next_due_at = $5, deadlines = $6, projected_seq = projected_seq + 1, "
                        "updated_at = $7 WHERE id = $1 RETURNING projected_seq",
                        petition_id,
                        rng.choice(STAGES),
                        rng.randint(1, 4),
                        rng.random() < 0.1,
                        now + timedelta(days=rng.uniform(0, 30)),
                        json.dumps([{"kind": "escalation", "due_at": now.isoformat()}]),
                        now,
                    )
                    await connection.execute(
                        "INSERT INTO timeline_events (petition_id, seq, at, kind, level) "
                        "VALUES ($1, $2, $3, 'supervision', 2)",
                        petition_id,
                        seq,
                        now,
                    )
            done += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        return done

    try:
        return sum(await asyncio.gather(*(writer(lane) for lane in range(WRITERS))))
    finally:
        await pool.close()


def write_load(dsn: str, count: int, per_second: float, stop: Event, done: Any) -> None:
    """The write load's process: its own interpreter, so the writes cost the timed queries
    what they would cost a real API (the database's time), not this process's CPU."""
    done.put(asyncio.run(write(dsn, count, per_second, stop)))


async def filled(url: str, count: int) -> int:
    """How many of the bench's own petitions (XF-2026-…) ``url`` holds already."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM petitions WHERE id < 'XF-2027'"))
    finally:
        await connection.close()


async def main(count: int, runs: int, writes_per_second: float | None, reuse: str | None) -> None:
    with contextlib.ExitStack() as stack:
        url = reuse or await new_database(stack.enter_context(postgres_cluster()))
        settings = Settings(database_url=url, data_dir=Path("/tmp"))
        sessions = await prepare_store(settings)  # migrations and the demo directory
        started = time.perf_counter()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        if await filled(url, count) != count:  # a reused database is filled once
            await fill(dsn, count)
            print(f"filled {count:,} petitions in {time.perf_counter() - started:.1f} s")
        print(f"machine: {machine()}")
        context = multiprocessing.get_context("spawn")
        stop, done = context.Event(), context.Queue()
        writes = context.Process(
            target=write_load, args=(dsn, count, writes_per_second or 0, stop, done)
        )
        if writes_per_second:
            writes.start()
            print(f"under writes: {writes_per_second:g} transactions/s over {WRITERS} connections")
            await asyncio.sleep(2)  # the writers connected and running
            timed_from = time.perf_counter()
        soon = datetime.now(UTC) + timedelta(days=3)
        queries: dict[str, PetitionFilter] = {
            "by unit": PetitionFilter(unit_id="xihe"),
            "by unit and level": PetitionFilter(unit_id="renshe", level=3),
            "overdue": PetitionFilter(overdue=True),
            "due soon": PetitionFilter(due_before=soon),
            "by category": PetitionFilter(category="demolition_compensation"),
            "by stage": PetitionFilter(stage="handling"),
            "everything": PetitionFilter(),
            # What a leader signed in sees: the units of their chain (cl-01 is the county
            # contact leader of three), overdue first of all.
            "a leader's units": PetitionFilter(
                within_units=frozenset({"dongguan", "kaifaqu", "ziranziyuan"})
            ),
            "a leader's overdue": PetitionFilter(
                overdue=True, within_units=frozenset({"dongguan", "kaifaqu", "ziranziyuan"})
            ),
        }
        print(f"{'query':<20}{'rows':>9}{'p50 ms':>10}{'p95 ms':>10}")
        worst = 0.0
        for name, filters in queries.items():
            offsets = [0, 50, 500]
            timings: list[float] = []
            total = 0
            for i in range(runs):
                async with sessions() as session:
                    t0 = time.perf_counter()
                    _, total = await petition_lists.search(
                        session, filters, limit=50, offset=offsets[i % len(offsets)]
                    )
                    timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p50 = statistics.median(timings)
            p95 = timings[int(len(timings) * 0.95) - 1]
            worst = max(worst, p95)
            print(f"{name:<20}{total:>9,}{p50:>10.1f}{p95:>10.1f}")
        if writes_per_second:
            seconds = time.perf_counter() - timed_from
            stop.set()
            written = done.get(timeout=60)
            writes.join(timeout=60)
            print(f"writes done while timing: {written:,} ({written / seconds:.0f}/s)")
        print(
            f"target p95 ≤ {TARGET_P95_MS:g} ms for every query: {verdict(worst <= TARGET_P95_MS)}"
        )
        await dispose(sessions)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--with-writes", action="store_true", help="time under concurrent writes")
    parser.add_argument("--writes-per-second", type=float, default=200.0)
    parser.add_argument(
        "--database",
        help="an existing PostgreSQL database (SQLAlchemy URL) to migrate, fill once and keep, "
        "so variants compare back to back without filling 100k petitions each time",
    )
    args = parser.parse_args()
    writes = args.writes_per_second if args.with_writes else None
    asyncio.run(main(args.petitions, args.runs, writes, args.database))
