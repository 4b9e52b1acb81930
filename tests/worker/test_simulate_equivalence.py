"""The simulator's two modes give the same county (issue 13, item 7): one small plan, chosen to
walk every path (declined; answered in week 1; climbed to levels 2, 3 and 4; overdue; assigned
late and accepted late; rated each way; 复查 asked; not reached), played through Temporal's
time-skipping server (``--faithful``) and through the workflow's own code on a virtual clock (the
fast mode, the default) into two fresh read models, gives the same reports and, petition by
petition, the same rows: stage and projection, timeline, slips, documents, deadlines.

What is normalised, and why:
- times are compared to the minute: on the time-skipping server the clock runs on by the real
  time a step takes between skips (milliseconds, seconds on a loaded machine);
- the slips' ``created_at`` on the faithful side is the activity's scheduled time on the server
  (``record_step`` stamps the wall clock, which on a time-skipping server is not the case's
  time; in production the two are the same moment); for a chain step, written by a local
  activity inside the workflow task that took it, it is the step's own moment;
- the yearly 文号 are compared as "numbered or not": each side numbers in the order it wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

import store.petitions
import worker.simulate
from activities.petition import PetitionActivities
from core.database import prepare_store
from domain.policy import BEIJING
from domain.report_periods import day, month, week
from domain.reports import ReportKind, ReportPeriod
from domain.simulation import PlannedPetition, Review
from domain.vocabulary import Category, Channel, Rating, Track
from store.db import dispose
from store.models import Document, Notice, Petition, TimelineEvent
from store.reports import build_report
from tests.helpers.settings import make_settings
from tests.helpers.waiting import eventually
from worker.simulate import play_faithful
from worker.simulate_fast import Answers, play_fast
from worker.simulate_lives import Uploaded


def _plans(first: datetime) -> list[PlannedPetition]:
    """Every path, a few hours apart (so both sides number them in the same order). No act
    falls on a whole number of days after another: the chain's moments are whole (working)
    days after the acceptance, and at a tie the server's order depends on how far its clock ran
    on in real time, which the fast mode does not model."""
    paths: list[dict[str, Any]] = [
        {"declined": True},
        {},  # answered in week 1, satisfied
        {"track": Track.SIMPLE, "reply_days": 2.2, "rating": Rating.BASICALLY_SATISFIED},
        {"assigned_at_intake": False, "assign_days": 0.4},
        {"assigned_at_intake": False, "assign_days": 2.6, "accept_days": 3.2},  # both late
        {"reply_days": 9.2},  # level 2
        {"reply_days": 16.2, "rating": Rating.DISSATISFIED},  # level 3, no review asked
        {"reply_days": 24.2},  # level 4
        {"reply_days": 38.2},  # overdue (逾期)
        {"track": Track.SIMPLE, "reply_days": 12.2},  # the simple track overdue
        {"rating": None},  # not reached at the revisit
        {"rating": Rating.DISSATISFIED, "review": Review(3.1, 0.5, 6.2, Rating.SATISFIED)},
        {"rating": Rating.DISSATISFIED, "review": Review(2.1, 0.5, 20.2, Rating.DISSATISFIED)},
        {"channel": Channel.LETTER, "persons": 6, "category": Category.DEMOLITION_COMPENSATION},
    ]
    units = ["dongguan", "xihe", "renshe"]
    return [
        PlannedPetition(
            **{
                "arrival": first + timedelta(hours=5 * n),
                "channel": Channel.VISIT,
                "category": Category.WAGE_DISPUTE,
                "persons": 1,
                "name": f"张{'一二三四五六七八九十'[n % 10]}{n}",
                "phone": f"139000000{n:02d}",
                "unit_id": units[n % len(units)],
                "assigned_at_intake": True,
                "track": Track.GENERAL,
                "assign_days": 0.3,
                "declined": False,
                "accept_days": 0.3,
                "reply_days": 4.2,
                "rating": Rating.SATISFIED,
                "rate_days": 2.1,
                "review": None,
                **path,
            }
        )
        for n, path in enumerate(paths)
    ]


def _minute(moment: Any) -> Any:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).replace(second=0, microsecond=0)
    if isinstance(moment, str) and len(moment) > 16 and moment[10] == "T":
        return _minute(datetime.fromisoformat(moment))
    if isinstance(moment, dict):
        return {k: _minute(v) for k, v in moment.items()}
    if isinstance(moment, list):
        return [_minute(v) for v in moment]
    return moment


SKIPPED = {"id", "serial", "serial_year", "updated_at", "workflow_started"}


async def _rows(sessions: async_sessionmaker[Any]) -> dict[str, Any]:
    """Every petition's rows, normalised (see the module's docstring)."""

    def of(row: Any) -> dict[str, Any]:
        names = [c.name for c in row.__table__.columns if c.name not in SKIPPED]
        values = {name: getattr(row, name) for name in names}
        if "serial" in row.__table__.columns:
            values["numbered"] = row.serial is not None
        normal: dict[str, Any] = _minute(values)
        return normal

    async with sessions() as session:
        found: dict[str, Any] = {}
        for model, order in (
            (Petition, Petition.id),
            (TimelineEvent, TimelineEvent.seq),
            (Notice, Notice.key),
            (Document, Document.key),
        ):
            for row in await session.scalars(select(model).order_by(order)):
                pid = row.id if model is Petition else row.petition_id
                found.setdefault(pid, {}).setdefault(model.__name__, []).append(of(row))
        return found


async def _reports(sessions: async_sessionmaker[Any], first: datetime) -> list[Any]:
    start = first.astimezone(BEIJING).date()
    periods: list[tuple[ReportKind, ReportPeriod]] = [
        (ReportKind.DAILY, day(start + timedelta(days=1))),
        (ReportKind.WEEKLY, week(*start.isocalendar()[:2])),
        (ReportKind.MONTHLY, month(start.year, start.month)),
        (ReportKind.MONTHLY, month(*(start + timedelta(days=31)).timetuple()[:2])),
        (ReportKind.SPECIAL, day(start)),
        (ReportKind.PATROL, day(start + timedelta(days=10))),
    ]
    patrol_at = datetime.combine(start + timedelta(days=10), time(9), BEIJING)
    async with sessions() as session:
        return [
            (await build_report(session, kind, period, patrol_at)).model_dump(mode="json")
            for kind, period in periods
        ]


async def _store(tmp_path: Path, name: str) -> async_sessionmaker[Any]:
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / name}")
    return await prepare_store(settings)


def _scheduled_now() -> datetime:
    """The step's moment on the server's clock: what ``record_step`` stamps in production."""
    if activity.in_activity():
        return activity.info().current_attempt_scheduled_time
    return datetime.now(UTC)


def _at_the_step(write: Callable[..., Awaitable[set[str]]]) -> Callable[..., Awaitable[set[str]]]:
    """``write`` (the projection) stamping a local activity's rows with the step's moment: a
    local activity's scheduled time is the worker's wall clock, not the server's."""

    async def stamped(session: Any, record: Any, now: datetime, **options: Any) -> set[str]:
        if activity.in_activity() and activity.info().is_local:
            now = record.event.at
        return await write(session, record, now, **options)

    return stamped


async def _fast(
    tmp_path: Path, plans: list[PlannedPetition], keep: Callable[[Any], bool] | None = None
) -> async_sessionmaker[Any]:
    tmp_path.mkdir(exist_ok=True)
    sessions = await _store(tmp_path, "fast.db")
    answers = Answers(PetitionActivities(sessions, Uploaded()), asyncio.get_running_loop())
    if keep is not None:
        answers.keep = keep
    settings = make_settings(tmp_path)
    count, refused = await play_fast(settings, sessions, plans, answers=answers)
    assert (count, refused) == (len(plans), [])
    return sessions


@pytest.fixture
def first() -> datetime:
    """Tomorrow 09:00 in Beijing: after the time-skipping server's start (today), so both sides
    play on the same days (the same working days)."""
    tomorrow = datetime.now(BEIJING).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(9), BEIJING)


async def test_both_modes_write_the_same_county(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: datetime
) -> None:
    plans = _plans(first)
    monkeypatch.setattr(store.petitions, "utcnow", _scheduled_now)
    for write in ("project", "apply_step"):
        monkeypatch.setattr(store.petitions, write, _at_the_step(getattr(store.petitions, write)))
    monkeypatch.setattr(worker.simulate, "GRANULE", timedelta(0))  # each act at its moment
    faithful = await _store(tmp_path, "faithful.db")
    settings = make_settings(tmp_path)
    count, refused = await play_faithful(settings, faithful, plans, since=None)
    assert (count, refused) == (len(plans), [])
    fast = await _fast(tmp_path, plans)
    expected = await _rows(faithful)
    assert _differences(await _rows(fast), expected) == []
    assert await _reports(fast, first) == await _reports(faithful, first)
    # Every path was walked: what the plan set out to cover is there.
    stages = {rows["Petition"][0]["stage"] for rows in expected.values()}
    levels = {rows["Petition"][0]["level"] for rows in expected.values()}
    assert {"declined", "closed"} <= stages and {2, 3, 4} <= levels
    kinds = {e["kind"] for rows in expected.values() for e in rows["TimelineEvent"]}
    assert {"overdue", "supervision", "reminder", "review_requested", "rated"} <= kinds
    # And the comparison sees a drift: the fast side with one 督办 step left unwritten.
    dropped: list[str] = []

    def keep(record: Any) -> bool:
        if record.event.kind == "supervision" and not dropped:
            dropped.append(record.state.id)
            return False
        return True

    drifted = await _fast(tmp_path / "drifted", plans, keep)
    assert [pid for pid, *_ in _differences(await _rows(drifted), expected)] == dropped
    for sessions in (fast, faithful, drifted):
        await dispose(sessions)


async def test_the_faithful_copy_waits_for_every_step_to_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: datetime
) -> None:
    """A rating (回访评价) is written by its own activity beside the main line's 结案: the
    petition may read closed before its rating is written. The copy waits until no closed
    petition has a step still being written: here the rating's write is held back until the
    simulator asks whether the petition is still writing (never, before the fix)."""
    apply_step, writing, settle = (
        store.petitions.apply_step,
        worker.simulate._writing,
        worker.simulate._settle,
    )
    asked = asyncio.Event()

    async def held_rating(session: Any, record: Any, now: datetime, **options: Any) -> set[str]:
        if record.event.kind == "rated":
            await asyncio.wait_for(asked.wait(), 60)
        return await apply_step(session, record, now, **options)

    def still_writing(description: Any) -> bool:
        found = writing(description)
        asked.set()
        return found

    async def settle_once_closed(clock: Any, sessions: async_sessionmaker[Any]) -> None:
        """The race as it was seen: the petition reads closed, its rating not yet written."""
        await eventually(lambda: _closed(sessions), bool)
        await settle(clock, sessions)

    monkeypatch.setattr(store.petitions, "apply_step", held_rating)
    monkeypatch.setattr(worker.simulate, "_writing", still_writing)
    monkeypatch.setattr(worker.simulate, "_settle", settle_once_closed)
    monkeypatch.setattr(worker.simulate, "GRANULE", timedelta(0))
    sessions = await _store(tmp_path, "faithful.db")
    plans = _plans(first)[1:2]  # answered in week 1, rated satisfied, closed
    count, refused = await play_faithful(make_settings(tmp_path), sessions, plans, since=None)
    assert (count, refused) == (1, [])
    [rows] = (await _rows(sessions)).values()
    assert _kinds(rows["TimelineEvent"])[-2:] == ["rated", "closed"]
    await dispose(sessions)


async def _closed(sessions: async_sessionmaker[Any]) -> bool:
    async with sessions() as session:
        return set(await session.scalars(select(Petition.stage))) == {"closed"}


def _differences(played: dict[str, Any], expected: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per petition, the first table that differs and how (the fast side's value first; for a
    count that differs, the rows' kinds on each side)."""
    found: list[tuple[Any, ...]] = []
    for pid in sorted(expected.keys() | played.keys()):
        mine, theirs = played.get(pid, {}), expected.get(pid, {})
        for table in sorted(theirs.keys() | mine.keys()):
            ours, other = mine.get(table, []), theirs.get(table, [])
            if len(ours) != len(other):
                # With what each side wrote: a tie that went the other way names its step.
                found.append((pid, table, len(ours), len(other), _kinds(ours), _kinds(other)))
                break
            diff = [
                {k: (one.get(k), v) for k, v in two.items() if one.get(k) != v}
                for one, two in zip(ours, other, strict=True)
            ]
            if any(diff):
                found.append((pid, table, diff))
                break
    return found


def _kinds(rows: list[dict[str, Any]]) -> list[Any]:
    """Each row's kind (a timeline entry's, a slip's), or its key."""
    return [row.get("kind", row.get("key")) for row in rows]
