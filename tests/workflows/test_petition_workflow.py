"""PetitionWorkflow on the time-skipping test server, with the real activities on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.starter import ensure_started, start_input
from domain.contracts import (
    PetitionState,
    RateRequest,
)
from domain.petitioner_sms import petitioner_sms_for
from domain.vocabulary import EventKind, Rating, Role, Stage
from store import directory, petitions
from tests.helpers.county import ON_BEHALF
from tests.helpers.settings import make_settings
from tests.helpers.steps import supervision_step
from tests.helpers.temporal import worker_for
from tests.helpers.workflows import DAY, Case, due_attribute, start_case
from workflows.petition import PetitionWorkflow


def kinds(state: PetitionState) -> list[tuple[EventKind, int | None]]:
    return [(e.kind, e.level) for e in state.timeline]


async def test_level_climbs_at_each_week_boundary(case_factory: Any) -> None:
    case: Case = await case_factory()
    assert (await case.state()).stage == Stage.ASSIGNED
    accepted = await case.accept()
    assert (accepted.stage, accepted.level) == (Stage.HANDLING, 1)
    assert accepted.accountable is not None
    assert accepted.accountable.role == Role.HANDLER
    expected = [
        (2, Role.SUPERVISING_LEADER, "dongguan-sup"),
        (3, Role.UNIT_HEAD, "dongguan-head"),
        (4, Role.COUNTY_CONTACT_LEADER, "cl-01"),
    ]
    for level, role, person in expected:
        await case.sleep(DAY * 6.5)  # just before the boundary: still the level below
        before = await case.until(lambda s, lv=level: s.level == lv - 1)
        assert not before.overdue
        await case.sleep(DAY * 0.5)
        after = await case.until_climbed(level, role)
        assert after.accountable is not None
        assert (after.accountable.role, after.accountable.person_id) == (role, person)
        # Temporal's PetitionDueAt moves on with the step: the next one, not the one taken.
        upcoming = next(d.due_at for d in after.deadlines if not d.passed)
        assert upcoming > await case.env.get_current_time()
        assert await due_attribute(case) == upcoming
    state = await case.state()
    assert state.stage == Stage.HANDLING and not state.overdue
    await case.sleep(DAY * 9)  # day 30: the general track's deadline
    state = await case.until(lambda s: s.overdue)
    assert (state.stage, state.level) == (Stage.OVERDUE, 4)
    supervision = [e.level for e in state.timeline if e.kind == EventKind.SUPERVISION]
    assert supervision == [2, 3, 4]  # one supervision notice per escalation
    assert await case.notices() == [
        ("assignment", "assignment", "dongguan-h1"),
        ("petitioner", "petitioner-acceptance-handling", f"petitioner:{case.handle.id}"),
        ("reminder", "reminder-before-escalation-L2", "dongguan-h1"),
        ("supervision", "escalation-L2", "dongguan-sup"),
        ("reminder", "reminder-before-escalation-L3", "dongguan-sup"),
        ("supervision", "escalation-L3", "dongguan-head"),
        ("reminder", "reminder-before-escalation-L4", "dongguan-head"),
        ("supervision", "escalation-L4", "cl-01"),
        ("reminder", "reminder-before-overdue", "cl-01"),
        # 逾期通报: the county leaders of the chain, then the bureau (issue 10, item 4).
        ("overdue", "overdue:county_contact_leader", "cl-01"),
        ("overdue", "overdue:county_principal_leader", "cpl-01"),
        ("overdue", "overdue", "bureau-01"),
    ]


async def test_reminder_goes_one_policy_day_before_the_step_ends(case_factory: Any) -> None:
    case: Case = await case_factory()
    await case.accept()
    await case.sleep(DAY * 5.9)
    state = await case.state()
    assert EventKind.REMINDER not in [e.kind for e in state.timeline]
    await case.sleep(DAY * 0.2)  # day 6.1
    # The entry goes on the timeline as the step is decided, its person once the step's local
    # activity has looked them up: both are waited for.
    state = await case.until(
        lambda s: s.timeline[-1].kind == EventKind.REMINDER and s.timeline[-1].person_id
    )
    reminder = state.timeline[-1]
    assert (reminder.level, reminder.person_id) == (1, "dongguan-h1")
    assert state.accepted_at is not None
    # Recorded when the timer fired: the planned moment, give or take the timer's resolution.
    assert DAY * 6 <= reminder.at - state.accepted_at < DAY * 6 + timedelta(seconds=1)
    assert state.level == 1


@pytest.mark.parametrize(
    ("days", "level", "overdue"),
    [(0, 1, False), (8, 2, False), (15, 3, False), (22, 4, False), (31, 4, True)],
)
async def test_completion_at_any_level_stops_everything(
    case_factory: Any, days: int, level: int, overdue: bool
) -> None:
    case: Case = await case_factory()
    await case.accept()
    await case.sleep(DAY * days)
    await case.until(lambda s: (s.level, s.overdue) == (level, overdue))
    level_before = (await case.state()).level
    done = await case.complete()
    assert done.stage == Stage.REPLIED
    assert done.reply == "已协调企业支付拖欠工资。"
    assert done.timeline[-1].kind == EventKind.COMPLETED
    chain = (EventKind.REMINDER, EventKind.SUPERVISION, EventKind.OVERDUE)
    slips_at_completion = [n for n in await case.notices() if n[0] != "petitioner"]
    # Nobody rates it: the revisit window lapses, then the review window; the workflow closes.
    await case.sleep(DAY * 60)
    final = await case.until(lambda s: s.closure is not None and s.uploaded)
    await case.handle.result()
    after = final.timeline[len(done.timeline) :]
    # Aftercare's own 催办 (the revisit window closing unrated, to the bureau) is no step of the
    # handling chain: the handler and the leaders get nothing more.
    revisit = [e for e in after if e.role == Role.BUREAU_DISPATCHER]
    assert not [e for e in after if e.kind in chain and e not in revisit], (
        "the chain went on after completion"
    )
    assert [e.kind for e in after] == [EventKind.UPLOADED, EventKind.REMINDER, EventKind.CLOSED]
    assert revisit == [after[1]]
    assert (final.stage, final.closure, final.level) == (Stage.CLOSED, "not_reached", level_before)
    slips = [n for n in await case.notices() if n[0] != "petitioner"]
    assert slips == [*slips_at_completion, ("reminder", "reminder-revisit-handling", "bureau-01")]


async def test_the_petitioner_is_told_of_the_reply_with_an_sms_of_its_own(
    case_factory: Any,
) -> None:
    """答复告知 (the patch petitioner-told-of-reply): the reply's step writes the petitioner's
    slip, which their SMS is made from; no timeline entry of its own."""
    case: Case = await case_factory()
    await case.accept()
    done = await case.complete()
    assert done.timeline[-1].kind == EventKind.COMPLETED
    await case.written()
    async with case.sessions() as session:
        slips = {n.key: n for n in await petitions.notices(session, case.handle.id)}
    told = slips["petitioner-reply-handling"]
    assert (told.kind, told.recipient_id) == ("petitioner", f"petitioner:{case.handle.id}")
    assert "已办结" in told.text and "已协调企业支付拖欠工资" in told.text
    sms = petitioner_sms_for(told.key, case.handle.id, told.text)
    assert sms is not None and "已办结" in sms and case.handle.id in sms


async def test_simple_track_is_overdue_after_seven_days(case_factory: Any) -> None:
    case: Case = await case_factory("simple")
    await case.accept()
    await case.sleep(DAY * 6.9)
    assert not (await case.state()).overdue
    await case.sleep(DAY * 0.2)
    state = await case.until(lambda s: s.overdue)
    assert state.stage == Stage.OVERDUE
    assert kinds(state)[-3:] == [
        (EventKind.REMINDER, 1),
        (EventKind.SUPERVISION, 2),
        (EventKind.OVERDUE, 2),
    ]
    # Overdue, it can still be completed; it stays marked overdue for assessment (考核).
    done = await case.complete()
    assert done.stage == Stage.REPLIED and done.overdue


async def test_refused_actions_change_nothing(case_factory: Any) -> None:
    case: Case = await case_factory()
    before = await case.state()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.complete()
    assert "before the unit accepts" in str(refused.value.cause)
    assert await case.state() == before
    await case.accept()
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await case.accept()
    assert "already handling" in str(twice.value.cause)
    done = await case.complete()
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await case.complete("第二次答复")
    assert "already completed" in str(again.value.cause)
    assert (await case.state()).reply == done.reply
    # Once the workflow has closed (a satisfied rating ends it), the server itself refuses
    # (the API answers 409 too).
    await case.update(PetitionWorkflow.rate, RateRequest(rating=Rating.SATISFIED, **ON_BEHALF))
    await case.handle.result()
    with pytest.raises(RPCError) as closed:
        await case.complete("第三次答复")
    assert closed.value.status == RPCStatusCode.NOT_FOUND


async def test_start_is_idempotent(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
) -> None:
    async with worker_for(time_env.client, settings, sessions):
        case = await start_case(time_env, sessions, settings, started=started)
        handle = case.handle
        async with sessions() as session:
            row = await petitions.get(session, handle.id)
        assert row is not None
        start = start_input(row, settings.review_units)
        first = await ensure_started(time_env.client, settings.task_queue, start)
        second = await ensure_started(time_env.client, settings.task_queue, start)
        assert first is not None and first == second
        # Even once closed, the number never gets a second chain.
        await case.accept()
        await case.complete("已答复")
        await case.sleep(DAY * 60)  # past the revisit and review windows: it closes
        await handle.result()
        assert await ensure_started(time_env.client, settings.task_queue, start) is None
        history = await handle.fetch_history()
        assert history.run_id == first


async def test_worker_restart_mid_chain_loses_and_doubles_nothing(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
) -> None:
    # No sticky cache on the first worker: the test server would otherwise hold the next task
    # for the dead worker's sticky queue. Every task of this worker replays the whole history.
    first = worker_for(time_env.client, settings, sessions, max_cached_workflows=0)
    async with first:
        case = await start_case(time_env, sessions, settings, started=started)
        await case.until(lambda s: len(s.timeline) >= 2)
        await case.accept()
        await case.sleep(DAY * 8)
        await case.until(lambda s: s.level == 2)
    # The first worker is gone (its workflow cache with it); a new one picks up the history.
    async with worker_for(time_env.client, settings, sessions):
        await case.sleep(DAY * 7)
        state = await case.until(lambda s: s.level == 3)
        await case.sleep(DAY * 16)
        state = await case.until(lambda s: s.overdue)
        keys = [key for _, key, _ in await case.notices()]  # with a worker to ask the state
    assert len(keys) == len(set(keys)), "a notice was sent twice"
    assert keys == [
        "assignment",
        "petitioner-acceptance-handling",
        "reminder-before-escalation-L2",
        "escalation-L2",
        "reminder-before-escalation-L3",
        "escalation-L3",
        "reminder-before-escalation-L4",
        "escalation-L4",
        "reminder-before-overdue",
        "overdue:county_contact_leader",
        "overdue:county_principal_leader",
        "overdue",
    ]
    assert [e.seq for e in state.timeline] == list(range(1, len(state.timeline) + 1))


async def test_a_head_replaced_at_level_2_receives_the_level_3_notice(case_factory: Any) -> None:
    """Issue 4: a post change takes effect at the next step of a running petition, without a
    restart, and the record shows who was accountable at each step."""
    case: Case = await case_factory()
    await case.accept()
    await case.sleep(DAY * 8)
    await case.until(lambda s: s.level == 2)
    # The unit head is replaced (换人) while the petition is at level 2, the way the admin API
    # does it (POST /api/v1/posts), at the workflow's "now" so the terms line up with the
    # timeline on the time-skipping clock.
    async with case.sessions() as session:
        await directory.create_person(session, "dongguan-head-2", "陈立新", "东关镇党委书记")
        made = await directory.appoint(
            session,
            "dongguan",
            Role.UNIT_HEAD,
            "dongguan-head-2",
            now=await case.env.get_current_time(),
        )
        await session.commit()
    assert [t.person_id for t in made.ended] == ["dongguan-head"]
    await case.sleep(DAY * 7)
    state = await case.until_climbed(3, Role.UNIT_HEAD)
    assert state.accountable is not None
    assert state.accountable.person_id == "dongguan-head-2"
    notices = await case.notices()
    assert ("supervision", "escalation-L3", "dongguan-head-2") in notices
    assert not any(recipient == "dongguan-head" for _, _, recipient in notices)
    supervision = {e.level: e for e in state.timeline if e.kind is EventKind.SUPERVISION}
    assert (supervision[2].person_id, supervision[2].person_name) == ("dongguan-sup", "赵秀兰")
    assert (supervision[3].person_id, supervision[3].person_name) == ("dongguan-head-2", "陈立新")
    # Who was the unit head at each step: the history answers for the steps gone by.
    async with case.sessions() as session:
        then = await directory.post_history(
            session, "dongguan", Role.UNIT_HEAD.value, at=supervision[2].at
        )
        now = await directory.post_history(
            session, "dongguan", Role.UNIT_HEAD.value, at=supervision[3].at
        )
    assert [p.name for _, p in then] == ["李卫东"]
    assert [p.name for _, p in now] == ["陈立新"]


async def test_record_step_twice_writes_once(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """A retried activity (worker killed after the write, before Temporal heard) writes nothing."""
    activities, record = await supervision_step(
        sessions, make_settings(tmp_path), tmp_path, at=None
    )
    petition_id = record.state.id
    assert await activities.record_step(record) is True
    assert await activities.record_step(record) is False
    async with sessions() as session:
        assert len(await petitions.notices(session, petition_id)) == 1
        assert len(await petitions.timeline(session, petition_id)) == 1
