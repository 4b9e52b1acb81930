"""Benchmark: the supervisors' list queries on PostgreSQL with 100,000 petitions.

    .venv/bin/python -m bench.list_queries [--petitions 100000] [--runs 200]

Starts a throwaway PostgreSQL cluster (tests/helpers/postgres.py), migrates it, fills it with
petitions spread over the demo county's units, stages, levels, categories and deadlines, then
times each list query of the API (by unit, level, overdue, due soon, category; paginated, with
the total) through the store layer and prints p50 / p95 in milliseconds. Target: p95 < 50 ms
on a 2-core machine. A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from core.database import prepare_store
from core.settings import Settings
from store import petitions
from store.db import dispose
from store.petitions import PetitionFilter
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


def rows(count: int, now: datetime) -> list[tuple[Any, ...]]:
    rng = random.Random(2026)
    out = []
    for n in range(1, count + 1):
        stage = rng.choice(STAGES)
        registered = now - timedelta(days=rng.uniform(0, 365), seconds=n)
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
                json.dumps({}),
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
        await connection.execute("ANALYZE petitions")
    finally:
        await connection.close()


async def main(count: int, runs: int) -> None:
    with postgres_cluster() as admin:
        url = await new_database(admin)
        settings = Settings(database_url=url, data_dir=Path("/tmp"))
        sessions = await prepare_store(settings)  # migrations and the demo directory
        started = time.perf_counter()
        await fill(url.replace("postgresql+asyncpg://", "postgresql://"), count)
        print(f"filled {count:,} petitions in {time.perf_counter() - started:.1f} s")
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
        for name, filters in queries.items():
            offsets = [0, 50, 500]
            timings: list[float] = []
            total = 0
            for i in range(runs):
                async with sessions() as session:
                    t0 = time.perf_counter()
                    _, total = await petitions.search(
                        session, filters, limit=50, offset=offsets[i % len(offsets)]
                    )
                    timings.append((time.perf_counter() - t0) * 1000)
            timings.sort()
            p50 = statistics.median(timings)
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(f"{name:<20}{total:>9,}{p50:>10.1f}{p95:>10.1f}")
        await dispose(sessions)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.petitions, args.runs))
