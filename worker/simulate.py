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
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

from activities.upload import ReplyUpload, UploadReceipt
from core.database import prepare_store
from core.settings import Settings, get_settings
from core.starter import ensure_started, start_input
from core.temporal import ensure_search_attributes
from domain.calendar import china_calendar
from domain.contracts import (
    AcceptRequest,
    AssignRequest,
    CompleteRequest,
    DeclineRequest,
    Person,
    RateRequest,
    ReviewRequest,
)
from domain.policy import BEIJING
from domain.simulation import PREVIOUS_YEAR_FACTOR, SUMMARIES, PlannedPetition, plan_year
from domain.vocabulary import ReachedBy, Role, Stage, UnitKind
from store import petitions
from store.db import dispose
from store.models import Petition, Unit
from store.transplant import transplant
from worker.runtime import build_worker, sizing
from workflows.petition import PetitionWorkflow as W

log = logging.getLogger("petitionflow.simulate")
console = Console()
WEEK = timedelta(days=7)
# Actions within this much of each other run together, between two skips of the clock.
GRANULE = timedelta(days=1)
LIVES_END_BEFORE_TODAY = timedelta(days=60)
SETTLE_STEP, SETTLE_STEPS = timedelta(days=5), 40
FINISHED = {Stage.CLOSED.value, Stage.DECLINED.value, Stage.WITHDRAWN.value}
BUREAU_CLERK = Person(
    person_id="bureau-01", name="王建国", title="信访局交办科科长", role=Role.BUREAU_DISPATCHER,
    unit_id="bureau",
)  # fmt: skip


class Uploaded:
    """The upper-level system, answering at once (the simulation is about the county)."""

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        return UploadReceipt(
            ack_id=f"sim-{record.petition_id}", received_at=datetime.now(BEIJING), target="sim"
        )


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
    """Plays planned petitions on the server, through the same updates the API sends."""

    def __init__(
        self, client: Client, clock: Clock, sessions: async_sessionmaker[Any], settings: Settings
    ) -> None:
        self.client, self.clock, self.sessions, self.settings = client, clock, sessions, settings
        self.tally = Tally()

    async def _act(self, petition_id: str, update: Any, request: Any) -> bool:
        try:
            await self.client.get_workflow_handle(petition_id).execute_update(update, request)
        except WorkflowUpdateFailedError as exc:
            self.tally.refused.append(f"{petition_id}: {exc.cause}")
            return False
        return True

    async def _register(self, plan: PlannedPetition) -> str:
        intake = {
            "channel": plan.channel.value,
            "petitioner_name": plan.name,
            "petitioner_phone": plan.phone,
            "petitioner_id_number": None,
            "persons": plan.persons,
            "category": plan.category.value,
            "summary": SUMMARIES[plan.category],
            "content": f"{SUMMARIES[plan.category]}，请求协调解决。",
            "unit_id": plan.unit_id if plan.assigned_at_intake else None,
            "track": plan.track.value,
            "repeat_of": None,
        }
        async with self.sessions() as session:
            registration = await petitions.register(
                session,
                intake=intake,
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

    async def live(self, plan: PlannedPetition, shift: timedelta) -> None:
        """One petition's life as planned, its moments ``shift`` later on the server."""
        day = timedelta(days=1)
        await self.clock.at(plan.arrival + shift)
        pid = await self._register(plan)
        if not plan.assigned_at_intake:
            await self.clock.at(self.clock.now + plan.assign_days * day)
            await self._act(pid, W.assign, AssignRequest(unit_id=plan.unit_id))
        await self.clock.at(self.clock.now + plan.accept_days * day)
        if plan.declined:
            reason = DeclineRequest(
                reason="不属于本单位职责范围", legal_basis="《信访工作条例》第三十条"
            )
            await self._act(pid, W.decline, reason)
            return
        rounds = [(plan.reply_days, plan.rating, plan.rate_days)]
        if plan.review is not None:
            r = plan.review
            rounds.append((r.reply_days, r.rating, 1.0))
        for n, (reply_days, rating, rate_days) in enumerate(rounds):
            if n:  # 复查: asked within the window, accepted by the review body
                await self.clock.at(self.clock.now + plan.review.after_days * day)  # type: ignore[union-attr]
                # The review body takes it up at once (复查 starts in handling).
                if not await self._act(pid, W.request_review, ReviewRequest(reason="对答复不满意")):
                    return
            elif not await self._act(pid, W.accept, AcceptRequest()):
                return
            await self.clock.at(self.clock.now + reply_days * day)
            await self._act(pid, W.complete, CompleteRequest(reply="经调查核实，已依法依规答复。"))
            await self.clock.at(self.clock.now + rate_days * day)
            if rating is None:
                return  # not reached: the revisit window closes it
            on_behalf = {"reached_by": ReachedBy.PHONE, "recorded_by": BUREAU_CLERK}
            await self._act(pid, W.rate, RateRequest(rating=rating, **on_behalf))


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


@dataclass
class Outcome:
    petitions: int
    refused: list[str]
    seconds: float
    years: list[int]


OnProgress = Callable[[int, int], None]  # (lives ended, lives planned)


async def simulate(
    settings: Settings,
    count: int,
    year: int,
    *,
    previous_year: bool = True,
    seed: int = 2026,
    progress: OnProgress | None = None,
) -> Outcome:
    """Play ``count`` petitions of ``year`` (and the year before, some 8 % more) and copy them
    into ``settings.database_url``; ``progress`` hears of each life that ends."""
    began = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (a simulation: the same seed, the same county)
    years = [year - 1, year] if previous_year else [year]
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
        units = await _units(sessions, settings.review_units)
        calendar = china_calendar(range(years[0], year + 2))
        # This year's petitions arrive until two months ago, so their lives end before today.
        until = date.today() - LIVES_END_BEFORE_TODAY
        plans = [
            p
            for y in years
            for p in plan_year(
                y,
                round(count * (PREVIOUS_YEAR_FACTOR if y < year else 1)),
                units,
                calendar,
                rng,
                until,
            )
        ]
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=str(binary)
        )
        async with env:
            await ensure_search_attributes(env.client, "default")
            start = await env.get_current_time()
            first = datetime.combine(date(years[0], 1, 1), datetime.min.time(), BEIJING)
            shift = WEEK * -(-(start - first) // WEEK)  # whole weeks: weekdays stay weekdays
            clock = Clock(env, start)
            county = County(env.client, clock, sessions, play)
            worker = build_worker(
                env.client,
                play.task_queue,
                sessions,
                Uploaded(),
                # The sandbox re-imports the workflow's modules for every petition it starts
                # or brings back into the cache: a quarter of a second each, most of a run's
                # time. The code is the same deterministic code; only the guard is left out.
                workflow_runner=UnsandboxedWorkflowRunner(),
                # No deadlock detector: on a loaded machine an activation starved of CPU for
                # 2 s is failed and retried by it, which only loads the machine more.
                debug_mode=True,
                **sizing(play),
            )
            async with worker:
                ended = itertools.count(1)

                async def life(plan: PlannedPetition) -> None:
                    await county.live(plan, shift)
                    if progress is not None:
                        progress(next(ended), len(plans))

                await clock.run([lambda p=p: life(p) for p in plans])  # type: ignore[misc]
                log.info("played in %.1f s", time.perf_counter() - began)
                await _settle(clock, sessions)
                log.info("settled in %.1f s", time.perf_counter() - began)
        target = await prepare_store(settings)
        async with sessions() as source, target() as into:
            copied = await transplant(source, into, shift)
        await dispose(sessions)
        await dispose(target)
    return Outcome(copied, county.tally.refused, time.perf_counter() - began, years)


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
) -> None:
    """Simulate a county year and write it into the read model."""
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    columns = (*Progress.get_default_columns(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"simulating {year} on the time-skipping server", total=None)

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
            )
        )
    rate = outcome.petitions / outcome.seconds
    console.print(
        f"[bold]{outcome.petitions}[/] petitions of {', '.join(map(str, outcome.years))} through "
        f"their whole lifecycle in [bold]{outcome.seconds:.1f} s[/] ({rate:.0f}/s) → "
        f"{settings.database_url}"
    )
    if outcome.refused:
        console.print(
            f"[yellow]{len(outcome.refused)} actions refused[/], e.g. {outcome.refused[0]}"
        )


if __name__ == "__main__":
    app()
