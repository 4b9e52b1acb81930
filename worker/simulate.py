"""``python -m worker.simulate``: a county year of petitions through the real petition workflow on
Temporal's time-skipping server (issue 13, item 7), written into the configured read model (the
``make run`` database by default) so the reports, the board and the benchmarks have a year of
real-looking data; ``--year`` also plays the year before, for 同比.

The time-skipping server starts at today and only goes forward: the years are played from
there, on a scratch read model, and copied into the read model moved back by whole weeks (so
weekdays stay weekdays) with petition and document numbers taken afresh (store/transplant.py).
The plan (domain/simulation.py) says when each petition arrives and what its people do; the
workflow's own timers do the rest (reminders, 督办单, the revisit and review windows)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.database import prepare_store
from core.settings import Settings, get_settings
from core.starter import ensure_started, start_input
from core.temporal import ensure_search_attributes
from domain.calendar import china_calendar
from domain.policy import BEIJING
from domain.simulation import PREVIOUS_YEAR_FACTOR, PlannedPetition, plan_year
from domain.vocabulary import Stage, UnitKind
from store import petitions
from store.db import dispose
from store.models import Petition, Unit
from store.transplant import transplant
from worker.runtime import build_worker, sizing
from worker.simulate_extras import add_extras
from worker.simulate_fast import OnProgress, play_fast
from worker.simulate_lives import Uploaded, intake_of, live

log = logging.getLogger("petitionflow.simulate")
console = Console()
WEEK = timedelta(days=7)
# Actions within this much of each other run together, between two skips of the clock.
GRANULE = timedelta(days=1)
LIVES_END_BEFORE_TODAY = timedelta(days=60)
SETTLE_STEP, SETTLE_STEPS = timedelta(days=5), 40
WRITTEN_SECONDS = 300  # real time for the closed petitions' last writes, on a loaded machine
FINISHED = {Stage.CLOSED.value, Stage.DECLINED.value, Stage.WITHDRAWN.value}


@dataclass
class Clock:
    """The simulation's clock over the time-skipping server: each petition's life awaits
    ``at(moment)``; once every life waits, the clock skips to the earliest moment asked for
    and lets go every life due within a granule of it."""

    env: WorkflowEnvironment
    now: datetime
    waiting: list[tuple[datetime, int, asyncio.Future[None]]] = field(default_factory=list)
    busy: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    order: itertools.count[int] = field(default_factory=itertools.count)

    async def at(self, moment: datetime) -> None:
        if moment <= self.now:
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (moment, next(self.order), future))
        self._done()
        await future

    def _done(self) -> None:
        self.busy -= 1
        if self.busy == 0:
            self.idle.set()

    async def run(self, lives: list[Callable[[], Awaitable[None]]]) -> None:
        async def life(body: Callable[[], Awaitable[None]]) -> None:
            try:
                await body()
            finally:
                self._done()

        self.busy = len(lives)
        tasks = [asyncio.create_task(life(body)) for body in lives]
        while True:
            await self.idle.wait()
            if not self.waiting:
                break
            first = self.waiting[0][0]
            if first > self.now:
                log.debug("skip to %s (%d waiting)", first, len(self.waiting))
                await self.env.sleep(first - self.now)
                self.now = max(first, await self.env.get_current_time())
            self.idle.clear()
            while self.waiting and self.waiting[0][0] <= first + GRANULE:
                self.busy += 1
                heapq.heappop(self.waiting)[2].set_result(None)
        await asyncio.gather(*tasks)


@dataclass
class Tally:
    registered: int = 0
    refused: list[str] = field(default_factory=list)


class County:
    """The stage of the faithful mode: planned petitions on the server, through the same updates
    the API sends (worker/simulate_lives.py)."""

    def __init__(
        self, client: Client, clock: Clock, sessions: async_sessionmaker[Any], settings: Settings
    ) -> None:
        self.client, self.clock, self.sessions, self.settings = client, clock, sessions, settings
        self.tally = Tally()

    @property
    def now(self) -> datetime:
        return self.clock.now

    async def at(self, moment: datetime) -> None:
        await self.clock.at(moment)

    async def act(self, petition_id: str, update: Any, request: Any) -> bool:
        try:
            await self.client.get_workflow_handle(petition_id).execute_update(update, request)
        except WorkflowUpdateFailedError as exc:
            self.tally.refused.append(f"{petition_id}: {exc.cause}")
            return False
        return True

    async def register(self, plan: PlannedPetition) -> str:
        async with self.sessions() as session:
            registration = await petitions.register(
                session,
                intake=intake_of(plan),
                now=self.clock.now,
                policy=self.settings.policy_snapshot(),
                policy_version=self.settings.policy(plan.unit_id, plan.category.value).version,
                idempotency_key=None,
                fingerprint="simulated",
            )
        row = registration.petition
        await ensure_started(
            self.client, self.settings.task_queue, start_input(row, self.settings.review_units)
        )
        self.tally.registered += 1
        return row.id


async def _units(sessions: async_sessionmaker[Any], review_units: list[str]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(select(Unit.id).where(Unit.kind != UnitKind.BUREAU.value))
        return [u for u in rows if u not in review_units]


async def _settle(clock: Clock, sessions: async_sessionmaker[Any]) -> None:
    """Wait out the windows still open after the last action (the revisit, the window to ask
    for 复查): skip a few days at a time until every petition has closed."""
    for _ in range(SETTLE_STEPS):
        async with sessions() as session:
            still_open = await session.scalar(
                select(func.count()).select_from(Petition).where(Petition.stage.not_in(FINISHED))
            )
        if not still_open:
            return
        await clock.env.sleep(SETTLE_STEP)
        clock.now = await clock.env.get_current_time()
    log.warning("%s petitions still open after the last window", still_open)


async def _written(env: WorkflowEnvironment, sessions: async_sessionmaker[Any]) -> None:
    """Wait until every petition closed in the read model has all its steps written. A petition
    reads 结案 once its closing step is written, but a step taken just before (an officer's
    回访评价, written by its own activity beside the main line's) may still be on its way:
    copied then, it was lost (seen: a rating missing from the copy, one run in twenty on a
    loaded machine). Written means no activity pending and no workflow task (which may start
    one, or write a step itself) under way."""
    async with sessions() as session:
        ids = list(await session.scalars(select(Petition.id).where(Petition.stage.in_(FINISHED))))
    given_up_at = time.monotonic() + WRITTEN_SECONDS
    while ids:
        described = await asyncio.gather(*(_describe(env.client, i) for i in ids))
        ids = [i for i, d in zip(ids, described, strict=True) if _writing(d)]
        if not ids:
            return
        if time.monotonic() > given_up_at:
            raise RuntimeError(
                f"{len(ids)} petitions closed but still writing after {WRITTEN_SECONDS} s "
                f"(e.g. {ids[0]}): nothing was copied"
            )
        # A second of the server's clock, so that an activity's retry can come due.
        await env.sleep(timedelta(seconds=1))
        await asyncio.sleep(0.1)


async def _describe(client: Client, workflow_id: str) -> DescribeWorkflowExecutionResponse:
    """The raw description: the client's own decodes the search attributes, and fails on a
    time attribute the time-skipping server hands back empty."""
    execution = WorkflowExecution(workflow_id=workflow_id)
    request = DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=execution)
    return await client.workflow_service.describe_workflow_execution(request)


def _writing(description: DescribeWorkflowExecutionResponse) -> bool:
    return bool(description.pending_activities) or description.HasField("pending_workflow_task")


@dataclass
class Outcome:
    petitions: int
    refused: list[str]
    seconds: float
    years: list[int]
    receptions: int = 0  # the county leaders' reception days (领导接访)
    specials: int = 0  # the 专报 marked


def _plans(
    year: int, count: int, years: list[int], units: list[str], rng: random.Random
) -> list[PlannedPetition]:
    calendar = china_calendar(range(years[0], year + 2))
    # This year's petitions arrive until two months ago, so their lives end before today.
    until = date.today() - LIVES_END_BEFORE_TODAY
    return [
        p
        for y in years
        for p in plan_year(
            y, round(count * (PREVIOUS_YEAR_FACTOR if y < year else 1)), units, calendar, rng, until
        )
    ]


async def simulate(
    settings: Settings,
    count: int,
    year: int,
    *,
    previous_year: bool = True,
    seed: int = 2026,
    progress: OnProgress | None = None,
    faithful: bool = False,
) -> Outcome:
    """Play ``count`` petitions of ``year`` (and the year before, some 8 % more) into
    ``settings.database_url``; ``progress`` hears of each life that ends. ``faithful``: through
    Temporal's time-skipping server (minutes) rather than the fast mode (seconds)."""
    began = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (a simulation: the same seed, the same county)
    years = [year - 1, year] if previous_year else [year]
    target = await prepare_store(settings)
    plans = _plans(year, count, years, await _units(target, settings.review_units), rng)
    if faithful:
        first = datetime.combine(date(years[0], 1, 1), datetime.min.time(), BEIJING)
        played = await play_faithful(settings, target, plans, since=first, progress=progress)
    else:
        played = await play_fast(settings, target, plans, progress=progress)
    until = date.today() - LIVES_END_BEFORE_TODAY
    extras = await add_extras(target, years, until, random.Random(seed + 1))  # noqa: S311
    await dispose(target)
    return Outcome(played[0], played[1], time.perf_counter() - began, years, *extras)


async def play_faithful(
    settings: Settings,
    target: async_sessionmaker[Any],
    plans: list[PlannedPetition],
    *,
    since: datetime | None,
    progress: OnProgress | None = None,
) -> tuple[int, list[str]]:
    """Play ``plans`` on the time-skipping server and copy them into ``target``, moved back by
    whole weeks from the server's today to ``since`` (None: the plans are on the server's
    clock already, from its start on); returns how many petitions, and the refused actions."""
    began = time.perf_counter()
    binary = Path(sys.executable).parent / "temporal-test-server"
    with tempfile.TemporaryDirectory(prefix="petitionflow-sim-") as scratch:
        play = settings.model_copy(
            update={
                "database_url": f"sqlite+aiosqlite:///{Path(scratch) / 'sim.db'}",
                "day_seconds": 86400.0,
                "task_queue": "simulated",
            }
        )
        sessions = await prepare_store(play)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=str(binary)
        )
        async with env:
            await ensure_search_attributes(env.client, "default")
            start = await env.get_current_time()
            shift = timedelta(0)
            if since is not None:  # whole weeks: weekdays stay weekdays
                shift = WEEK * -(-(start - since) // WEEK)
            clock = Clock(env, start)
            county = County(env.client, clock, sessions, play)
            worker = build_worker(
                env.client,
                play.task_queue,
                sessions,
                Uploaded(),
                # No deadlock detector: on a loaded machine an activation starved of CPU for
                # 2 s is failed and retried by it, which only loads the machine more.
                debug_mode=True,
                **sizing(play),
            )
            async with worker:
                ended = itertools.count(1)

                async def life(plan: PlannedPetition) -> None:
                    await live(county, plan, shift)
                    if progress is not None:
                        progress(next(ended), len(plans))

                await clock.run([lambda p=p: life(p) for p in plans])  # type: ignore[misc]
                log.info("played in %.1f s", time.perf_counter() - began)
                await _settle(clock, sessions)
                await _written(env, sessions)
                log.info("settled in %.1f s", time.perf_counter() - began)
        async with sessions() as source, target() as into:
            copied = await transplant(source, into, shift)
        await dispose(sessions)
    return copied, county.tally.refused


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


@app.command()
def main(
    petitions_per_year: int = typer.Option(
        2400, "--petitions", min=1, help="petitions in the year"
    ),
    year: int = typer.Option(date.today().year, help="the year; the one before is played too"),
    previous_year: bool = typer.Option(True, help="also the year before (同比)"),
    seed: int = typer.Option(2026, help="the same seed plays the same county"),
    database_url: str = typer.Option("", help="the read model (default: the settings')"),
    faithful: bool = typer.Option(
        False, help="through Temporal's time-skipping server (minutes), not the fast mode"
    ),
) -> None:
    """Simulate a county year and write it into the read model."""
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    columns = (*Progress.get_default_columns(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        where = "on the time-skipping server" if faithful else "on a virtual clock"
        task = bar.add_task(f"simulating {year} {where}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        outcome = asyncio.run(
            simulate(
                settings,
                petitions_per_year,
                year,
                previous_year=previous_year,
                seed=seed,
                progress=advance,
                faithful=faithful,
            )
        )
    rate = outcome.petitions / outcome.seconds
    console.print(
        f"[bold]{outcome.petitions}[/] petitions of {', '.join(map(str, outcome.years))} through "
        f"their whole lifecycle in [bold]{outcome.seconds:.1f} s[/] ({rate:.0f}/s), with "
        f"{outcome.receptions} leaders' reception days and {outcome.specials} 专报 → "
        f"{settings.database_url}"
    )
    if outcome.refused:
        console.print(
            f"[yellow]{len(outcome.refused)} actions refused[/], e.g. {outcome.refused[0]}"
        )


if __name__ == "__main__":
    app()
