"""The reports' counts as the database groups them (store.report_facts) equal the obvious count
made row by row in Python, on random petitions, on SQLite and PostgreSQL alike: the month as
Beijing names it (registrations either side of a Beijing midnight at a month's end), the
periods apart (this year and last year to date), every dimension the 月报 asks for."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain import report_periods as periods
from domain.policy import BEIJING
from domain.report_rules import Facts, is_collective
from store.models import Petition
from store.report_facts import SERIES, UNITS, facts
from tests.helpers.settings import make_settings
from tests.helpers.store import register_petition

MONTH = periods.month(2026, 10)
TO_DATE = periods.year_to_date(MONTH)
SPANS = (TO_DATE, periods.last_year(TO_DATE))


def _moments(rng: random.Random) -> list[datetime]:
    """Registrations over two years, and some either side of Beijing's midnight (16:00 UTC)
    at the end of a month, where a UTC month and a Beijing month differ."""
    spread = [
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        for _ in range(24)
    ]
    edges = [
        datetime(year, month, day, 16, minute, tzinfo=UTC)
        for year, month, day in ((2025, 9, 30), (2026, 9, 30), (2026, 10, 31), (2025, 12, 31))
        for minute in (0, 59)
    ] + [datetime(2026, 9, 30, 15, 59, tzinfo=UTC), datetime(2026, 10, 31, 15, 59, tzinfo=UTC)]
    return spread + edges


def _outcome(rng: random.Random) -> dict[str, Any]:
    """What the reports look at, drawn at random (None where the column may be empty)."""
    answered = rng.random() < 0.5
    return {
        "channel": rng.choice(["visit", "letter", "online", "phone"]),
        "persons": rng.choice([1, 1, 2, 4, 5, 6, 12]),
        "category": rng.choice(["wage_dispute", "environment", "other"]),
        "track": rng.choice(["simple", "general"]),
        "destination_level": rng.choice(["county", "county", "city", "province", "beijing"]),
        "first_time": rng.random() < 0.7,
        "key_petitioner": rng.random() < 0.2,
        "stage": rng.choice(["assigned", "handling", "overdue", "replied", "closed"]),
        "phase": rng.choice(["handling", "review"]),
        "accepted_at": datetime(2026, 1, 2, tzinfo=UTC) if rng.random() < 0.7 else None,
        "unaccepted_overdue": rng.random() < 0.2,
        "completed_at": datetime(2026, 1, 9, tzinfo=UTC) if answered else None,
        "handling_overdue": rng.random() < 0.2,
        "rating": rng.choice([None, "satisfied", "basically_satisfied", "dissatisfied"]),
        "closure": rng.choice([None, "satisfied", "dissatisfied", "withdrawn"]),
        "unit_id": rng.choice(["dongguan", "xihe", "renshe", None]),
    }


def _by_row(petition: Petition, dimensions: tuple[str, ...]) -> tuple[Any, ...]:
    """A petition's value of each dimension, worked out on its own."""
    moment = petition.registered_at.astimezone(BEIJING)
    value = {
        "month": f"{moment.year:04d}-{moment.month:02d}",
        "unit_id": petition.unit_id,
        "channel": petition.channel,
        "category": petition.category,
        "track": petition.track,
        "destination": petition.destination_level,
        "collective": is_collective(petition.persons),
        "first_time": petition.first_time,
        "key_petitioner": petition.key_petitioner,
        "stage": petition.stage,
        "phase": petition.phase,
        "accepted": petition.accepted_at is not None,
        "unaccepted_overdue": petition.unaccepted_overdue,
        "completed": petition.completed_at is not None,
        "handling_overdue": petition.handling_overdue,
        "rating": petition.rating,
        "closure": petition.closure,
    }
    return tuple(value[name] for name in dimensions)


def _expected(rows: list[Petition], dimensions: tuple[str, ...], *spans: Any) -> Counter[Any]:
    counted: Counter[Any] = Counter()
    for petition in rows:
        day = petition.registered_at.astimezone(BEIJING).date()
        if any(span.start <= day <= span.end for span in spans):
            key = _by_row(petition, dimensions)
            counted[(key, "count")] += 1
            counted[(key, "persons")] += petition.persons
    return counted


def _found(grouped: list[Facts], dimensions: tuple[str, ...]) -> Counter[Any]:
    counted: Counter[Any] = Counter()
    for f in grouped:
        key = tuple(getattr(f, name) for name in dimensions)
        assert (key, "count") not in counted, f"{key} counted in two groups"
        counted[(key, "count")] += f.count
        counted[(key, "persons")] += f.persons
    return counted


async def test_grouped_counts_equal_the_count_row_by_row(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    rng = random.Random(13)
    settings = make_settings(tmp_path)
    made = [
        await register_petition(sessions, settings=settings, now=moment) for moment in _moments(rng)
    ]
    async with sessions() as session:
        for pid in made:
            await session.execute(update(Petition).where(Petition.id == pid).values(_outcome(rng)))
        await session.commit()
        rows = list(await session.scalars(select(Petition)))
        for dimensions, spans in (
            (SERIES, SPANS),  # the 月报's year-long series, this year and last
            (UNITS, (MONTH,)),  # its per-unit ranking and rates
            (("category",), (MONTH,)),
            (("track", "key_petitioner"), (periods.previous(MONTH),)),
        ):
            grouped = await facts(session, spans[0], dimensions, *spans[1:])
            expected = _expected(rows, dimensions, *spans)
            assert _found(grouped, dimensions) == expected, dimensions
            assert sum(f.count for f in grouped) > 0
