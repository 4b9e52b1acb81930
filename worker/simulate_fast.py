"""The simulator's fast mode, its default (issue 13, item 7): every planned petition's life
played through PetitionWorkflow's own code — the same class, its updates behind their validators,
its timers, chain, intake and aftercare — on a virtual clock (worker/virtual_time.py) instead of
Temporal's time-skipping server, and the steps it records written in bulk (store/simulated_year.py)
straight into the read model, in the years planned (no moving back, working days counted on the
real calendar of those years). Nothing is durable and nothing is sent: it is a simulation.

Lookups are answered by the activities themselves (``PetitionActivities``) against the target's
directory, once per question (the directory does not change during a simulation);
tests/worker/test_simulate_equivalence.py plays one plan both ways and compares the rows."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.petition import PetitionActivities, acceptance_text
from core.settings import Settings
from core.starter import start_input
from domain.contracts import (
    FIND_ROLE_HOLDER,
    RECORD_CHAIN_STEP,
    RECORD_STEP,
    UPLOAD_REPLY,
    WORKDAY_CALENDAR,
    AcceptanceNotice,
    ChainStepWritten,
    RoleLookup,
    StepRecord,
)
from domain.lifecycle import complete_chain_step
from domain.notice_delivery import StepWritten
from domain.policy import PolicyBook
from domain.simulation import PlannedPetition
from store.models import Petition
from store.petitions import intake_row
from store.simulated_year import Folded, Steps, fold_year, write_year
from store.transplant import Renumbering
from worker.simulate_lives import Uploaded, intake_of, live, upload_ack
from worker.virtual_time import PETITION, VirtualLoop, sleep_until
from workflows.petition import PetitionWorkflow

log = logging.getLogger("petitionflow.simulate")
OnProgress = Callable[[int, int], None]  # (lives ended, lives planned)


class Answers:
    """The activities, answered at once: each step recorded with its moment, the upload
    acknowledged, the lookups asked of the real activities (on the caller's event loop, from
    the virtual clock's thread) once per question."""

    def __init__(self, activities: PetitionActivities, home: asyncio.AbstractEventLoop) -> None:
        self.steps: dict[str, Steps] = defaultdict(list)
        self.loop: VirtualLoop | None = None
        self._activities, self._home = activities, home
        self._known: dict[tuple[str, str], Any] = {}
        # Before a drop is seen: tests/worker/test_simulate_equivalence.py drops a step here.
        self.keep: Callable[[StepRecord], bool] = lambda _: True

    def __call__(self, name: str, arg: Any) -> Any:
        if name in (RECORD_STEP, RECORD_CHAIN_STEP):
            assert self.loop is not None
            if arg.look_up is not None:  # a chain step completed as its activity does
                holder, *told = [
                    self(
                        FIND_ROLE_HOLDER,
                        RoleLookup(
                            petition_id=arg.state.id, unit_id=arg.state.unit_id or "", role=role
                        ),
                    )
                    for role in (arg.look_up.role, *arg.look_up.told)
                ]
                arg = complete_chain_step(arg, holder, told)
            if self.keep(arg):
                self.steps[arg.state.id].append((arg, self.loop.now()))
            routes = StepWritten(written=True) if arg.routes_back else None
            if name == RECORD_CHAIN_STEP:  # a chain step's local activity answers with its record
                return ChainStepWritten(record=arg, written=routes)
            return routes or True
        if name == UPLOAD_REPLY:
            return upload_ack(arg.petition_id)
        lookups: dict[str, Callable[[Any], Coroutine[Any, Any, Any]]] = {
            FIND_ROLE_HOLDER: self._activities.find_role_holder,
            WORKDAY_CALENDAR: self._activities.workday_calendar,
        }
        if name not in lookups:
            raise NotImplementedError(f"the simulator's fast mode has no activity {name}")
        # The petition asking does not change the answer; the rest of the question does.
        key = (name, repr([value for field, value in arg if field != "petition_id"]))
        if key not in self._known:
            asked = asyncio.run_coroutine_threadsafe(lookups[name](arg), self._home)
            self._known[key] = asked.result()
        return self._known[key]


class FastStage:
    """The stage of the fast mode (worker/simulate_lives.py): registration writes the intake
    row in memory and starts the workflow object; an update is its validator, then its handler."""

    def __init__(self, settings: Settings, answers: Answers, numbers: dict[int, str]) -> None:
        # Each plan's petition number (by the plan's identity), taken in order of arrival.
        self.settings, self.numbers = settings, numbers
        self.rows: list[dict[str, Any]] = []
        self.workflows: dict[str, PetitionWorkflow] = {}
        self.runs: list[asyncio.Task[Any]] = []
        self.refused: list[str] = []
        self.answers = answers
        # Read once for the year, not per petition: the policy book as the intake row keeps
        # it, and parsed (``start_input`` would validate it afresh for every petition).
        self.snapshot = settings.policy_snapshot()
        self.parsed = {**self.snapshot, "book": PolicyBook.model_validate(self.snapshot["book"])}
        self.versions: dict[tuple[str, str], str] = {}

    @property
    def loop(self) -> VirtualLoop:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualLoop)
        return loop

    @property
    def now(self) -> datetime:
        return self.loop.now()

    async def at(self, moment: datetime) -> None:
        await sleep_until(moment)

    async def register(self, plan: PlannedPetition) -> str:
        now, settings = self.now, self.settings
        number = self.numbers[id(plan)]
        policy = settings.policy(plan.unit_id, plan.category.value)
        row = intake_row(number, intake_of(plan), now, settings.policy_snapshot(), policy.version)
        self.rows.append(row)
        PETITION.set(number)  # this life's tasks from now on, and the workflow's
        start = start_input(Petition(**row), settings.review_units)
        workflow = PetitionWorkflow(start)
        self.workflows[number] = workflow
        self.runs.append(self.loop.create_task(workflow.run(start)))
        return number

    async def act(self, petition_id: str, update: Any, request: Any) -> bool:
        definition = update._defn  # temporalio's update definition: handler and validator
        workflow = self.workflows[petition_id]
        loop = self.loop
        try:
            definition.bind_validator(workflow)(request)
            loop.handling[petition_id] += 1
            try:
                await loop.create_task(definition.bind_fn(workflow)(request))
            finally:
                loop.handling[petition_id] -= 1
        except ApplicationError as exc:
            self.refused.append(f"{petition_id}: {exc}")
            return False
        return True


def _acceptance(notice: AcceptanceNotice, row: dict[str, Any], unit: str, phone: str | None) -> str:
    owns = notice.leader_owns_case
    if owns is None:  # notices decided before it was said named their leader
        owns = notice.leader is not None and row.get("owner_id") == notice.leader.person_id
    return acceptance_text(notice, row["petitioner_name"], row["summary"], unit, phone, owns=owns)


async def play_part(
    settings: Settings,
    target: async_sessionmaker[Any],
    plans: list[PlannedPetition],
    numbers: list[str],
    *,
    progress: OnProgress | None = None,
    answers: Answers | None = None,
) -> tuple[Folded, list[str]]:
    """Play ``plans`` (numbered ``numbers``) and fold their steps into rows; the officers'
    actions the workflow refused beside them."""
    answers = answers or Answers(PetitionActivities(target, Uploaded()), asyncio.get_running_loop())
    # The simulated county runs on a production clock whatever the settings' test day says.
    production = settings.model_copy(update={"day_seconds": 86400.0})
    stage = FastStage(production, answers, {id(p): n for p, n in zip(plans, numbers, strict=True)})
    first = min(p.arrival for p in plans) - timedelta(minutes=1)
    loop = VirtualLoop(first, answers)  # type: ignore[abstract]
    answers.loop = loop
    ended = itertools.count(1)

    async def life(plan: PlannedPetition) -> None:
        await live(stage, plan, timedelta(0))
        if progress is not None:
            progress(next(ended), len(plans))

    async def year() -> None:
        await asyncio.gather(*(life(plan) for plan in plans))
        await asyncio.gather(*stage.runs)  # every case to its end, its last window closed

    await asyncio.to_thread(loop.run, year())
    folded = fold_year(stage.rows, answers.steps)
    async with target() as session:
        await folded.render_acceptances(session, _acceptance)
    return folded, stage.refused


async def play_fast(
    settings: Settings,
    target: async_sessionmaker[Any],
    plans: list[PlannedPetition],
    *,
    progress: OnProgress | None = None,
    answers: Answers | None = None,
) -> tuple[int, list[str]]:
    """Play ``plans`` and write them into ``target``; returns how many petitions, and the
    officers' actions the workflow refused. (The petitions are independent of each other, and
    ``play_part`` can play a share of them; a pool of two processes, one a core, was slower on
    the shared 2-core machine than one process, so there is one.)"""
    if not plans:
        return 0, []
    began = time.perf_counter()
    renumber = Renumbering()
    async with target() as session:
        await renumber.load(session)
    # Numbered in order of arrival, as registration numbers them.
    arrivals = sorted(range(len(plans)), key=lambda n: plans[n].arrival)
    numbers = [""] * len(plans)
    for n in arrivals:
        numbers[n] = renumber.petition(f"planned-{n}", plans[n].arrival)
    folded, refused = await play_part(
        settings, target, plans, numbers, progress=progress, answers=answers
    )
    log.info("played in %.1f s", time.perf_counter() - began)
    async with target() as session:
        await write_year(session, [folded], renumber)
    log.info("played and written in %.1f s", time.perf_counter() - began)
    return len(plans), refused
