"""The read model rebuilt from Temporal after a database loss, and the personal data that
travels with the workflow input kept out of sight: a real dev server, real databases."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.delivery import NoticeDispatch
from core.database import prepare_store
from core.settings import Settings
from core.starter import start_input
from core.temporal import data_converter
from domain.contracts import DeclineRequest
from domain.vocabulary import NoticeKind
from store import petitions
from store.db import dispose
from store.models import Document, Notice, Petition, PetitionCounter, TimelineEvent
from tests.helpers.postgres import new_database
from tests.helpers.settings import make_settings
from tests.helpers.store import Templates, open_store, register_petition
from tests.helpers.temporal import worker_for
from tests.helpers.waiting import eventually
from tests.helpers.workflows import Case, start_case
from tests.store.test_slip_numbers import step
from worker.rebuild import (
    PetitionHistory,
    _restore,
    petition_history,
    petitions_query,
    read_history,
    rebuild,
)
from workflows.petition import PetitionWorkflow

NAME, PHONE, ID_NUMBER = "司马相如", "13712345678", "510105199001011234"


async def settled(case: Case) -> None:
    """No step in flight, and the read model has projected the last one."""
    await case.quiet()

    async def projected() -> tuple[int | None, int]:
        async with case.sessions() as session:
            row = await petitions.get(session, case.handle.id)
        return (row.projected_seq if row else None), (await case.state()).timeline[-1].seq

    await eventually(projected, lambda seqs: seqs[0] == seqs[1])


def _columns(row: Any, leave_out: set[str]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in leave_out}


async def snapshot(sessions: async_sessionmaker[Any], *, times: bool = False) -> dict[str, Any]:
    """The read model's rows; without ``times``, leaving out when each was written (a rebuild
    writes them again, at the time of the step rather than of the activity)."""
    written = set() if times else {"updated_at", "created_at"}
    leave_out = {"id", *written}
    async with sessions() as session:
        return {
            "petitions": {
                p.id: _columns(p, written) for p in await session.scalars(select(Petition))
            },
            **{
                model.__tablename__: sorted(
                    (
                        sorted(_columns(r, leave_out).items())
                        for r in await session.scalars(select(model))
                    ),
                    key=repr,
                )
                for model in (TimelineEvent, Notice, Document)
            },
        }


async def another_database(request: pytest.FixtureRequest, store_url: str, tmp: Path) -> str:
    """An empty database of the same kind: the read model lost."""
    if store_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp / 'rebuilt.db'}"
    return await new_database(request.getfixturevalue("postgres"))


async def test_rebuild_after_losing_the_read_model(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    store_url: str,
    request: pytest.FixtureRequest,
) -> None:
    settings = make_settings(tmp_path, database_url=store_url)
    sessions = await open_store(settings)
    async with worker_for(dev_env.client, settings, sessions):
        assigned = await start_case(dev_env, sessions, settings, name=NAME, id_number=ID_NUMBER)
        accepted = await start_case(dev_env, sessions, settings, phone=PHONE)
        await accepted.accept()
        completed = await start_case(dev_env, sessions, settings, category="wage_dispute")
        await completed.accept()
        await completed.complete()
        declined = await start_case(dev_env, sessions, settings)
        await declined.update(
            PetitionWorkflow.decline, DeclineRequest(reason="不属于信访事项", legal_basis="条例")
        )
        unassigned = await start_case(dev_env, sessions, settings, unit_id=None)
        old = await start_case(dev_env, sessions, settings, with_intake=False)
        cases = [assigned, accepted, completed, declined, unassigned, old]
        for case in cases:
            await settled(case)
        await eventually(completed.state, lambda s: s.uploaded)
        await settled(completed)
    before = await snapshot(sessions)
    assert before["documents"], "the accepted petitions have their 四告知"
    await dispose(sessions)

    lost = settings.model_copy(
        update={"database_url": await another_database(request, store_url, tmp_path)}
    )
    rebuilt = await prepare_store(lost)
    ids = sorted(case.handle.id for case in cases)

    async def listed() -> list[str]:
        query = petitions_query(settings.task_queue)
        return sorted([w.id async for w in dev_env.client.list_workflows(query)])

    await eventually(listed, lambda found: found == ids)  # visibility catches up

    report = await rebuild(dev_env.client, lost, rebuilt)
    assert (report.failed, report.present) == ({}, [])
    assert report.incomplete == [old.handle.id]
    assert sorted(report.restored) == [i for i in ids if i != old.handle.id]
    after = await snapshot(rebuilt)
    # The old workflow's intake was never in Temporal: placeholders, marked as such.
    old_before = before["petitions"].pop(old.handle.id)
    old_after = after["petitions"].pop(old.handle.id)
    assert old_after["petitioner_name"] == petitions.NOT_RESTORED
    intake = {"channel", "petitioner_name", "petitioner_phone", "persons", "summary", "content"}
    assert {k: v for k, v in old_after.items() if k not in intake} == {
        k: v for k, v in old_before.items() if k not in intake
    }
    assert after == before
    restored = after["petitions"]
    assert restored[assigned.handle.id]["petitioner_id_number"] == ID_NUMBER
    assert restored[accepted.handle.id]["petitioner_phone"] == PHONE
    assert restored[completed.handle.id]["stage"] == "replied"
    assert restored[declined.handle.id]["stage"] == "declined"
    assert restored[unassigned.handle.id]["stage"] == "registered"

    # Twice: nothing more to do, nothing changed.
    once = await snapshot(rebuilt, times=True)
    again = await rebuild(dev_env.client, lost, rebuilt)
    assert (again.restored, again.incomplete, again.failed) == ([], [], {})
    assert sorted(again.present) == ids
    assert await snapshot(rebuilt, times=True) == once

    # A registration after the rebuild takes the next number, not a restored one.
    async with rebuilt() as session:
        counters = list(await session.scalars(select(PetitionCounter)))
    newest = max(int(i.rsplit("-", 1)[1]) for i in ids)
    assert [c.last for c in counters] == [newest]
    async with worker_for(dev_env.client, lost, rebuilt):
        fresh = await start_case(dev_env, rebuilt, lost)
        assert int(fresh.handle.id.rsplit("-", 1)[1]) == newest + 1
        # The restored petitions carry on in the rebuilt read model.
        await assigned.accept()
        await settled(Case(dev_env, lost, rebuilt, assigned.handle))
    async with rebuilt() as session:
        row = await petitions.get(session, assigned.handle.id)
        assert row is not None and row.stage == "handling"
    await dispose(rebuilt)


async def test_personal_data_never_reaches_temporal_in_clear(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    templates: Templates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # INFO, as the processes log: at DEBUG the database driver prints SQL parameters.
    caplog.set_level(logging.INFO)
    url = await templates.sqlite_copy(tmp_path / "petitionflow.db")
    settings = make_settings(tmp_path, database_url=url)
    sessions = await open_store(settings)
    async with worker_for(dev_env.client, settings, sessions):
        case = await start_case(
            dev_env, sessions, settings, name=NAME, phone=PHONE, id_number=ID_NUMBER
        )
        await case.accept()
        await case.complete(reply="已处理。")
        await eventually(case.state, lambda s: s.uploaded)
        await settled(case)
    await dispose(sessions)
    secrets = [value.encode() for value in (NAME, PHONE, ID_NUMBER)]

    plain = Client(dev_env.client.service_client, data_converter=pydantic_data_converter)
    handle = plain.get_workflow_handle(case.handle.id)
    history = await handle.fetch_history()
    start_input_ = history.events[0].workflow_execution_started_event_attributes.input
    [decoded] = await dev_env.client.data_converter.decode(start_input_.payloads)
    # The check can see them: the intake is in the start input, readable without the codec.
    [clear] = await pydantic_data_converter.encode([decoded])
    assert all(secret in clear.data for secret in secrets)

    stored = b"".join(event.SerializeToString() for event in history.events)
    for secret in secrets:
        assert secret not in stored
        assert secret.decode() not in case.handle.id
    description = (await handle.describe()).raw_description.workflow_execution_info
    attributes = (
        description.search_attributes.SerializeToString() + description.memo.SerializeToString()
    )
    assert b"PetitionStage" in attributes
    for secret in secrets:
        assert secret not in attributes
        assert secret.decode() not in caplog.text


async def test_a_rebuild_watches_again_the_signatures_still_ahead(
    sessions: async_sessionmaker[Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The patch signatures-watched-in-outbox: a restored 督办单 whose 签收 moment is still
    ahead is watched again by the notices' process; one past it is not (whether it was signed
    for, and its 催办, were the database's alone), nor one of a step before the patch."""
    settings = make_settings(tmp_path)
    pid = await register_petition(sessions, settings=settings)
    async with sessions() as session:
        row = await petitions.get(session, pid)
        assert row is not None
        start = start_input(row, settings.review_units)
    now = petitions.utcnow()
    watched = {"signing_watched": True}
    past = step(pid, 1, [NoticeKind.SUPERVISION], at=now - timedelta(days=3))
    ahead = step(pid, 2, [NoticeKind.SUPERVISION], at=now).model_copy(update=watched)
    unwatched = step(pid, 3, [NoticeKind.SUPERVISION], at=now)
    history = PetitionHistory(
        start,
        [(past.model_copy(update=watched), past.event.at), (ahead, now), (unwatched, now)],
        [],
    )
    templates: Templates = request.getfixturevalue("templates")
    store_url = str(sessions.kw["bind"].url.render_as_string(hide_password=False))
    if store_url.startswith("sqlite"):
        lost = await templates.sqlite_copy(tmp_path / "rebuilt.db")
    else:
        lost = await templates.postgres_copy(request.getfixturevalue("postgres"))
    rebuilt = await open_store(make_settings(tmp_path, database_url=lost))
    watcher = NoticeDispatch(None, "notices", rebuilt, channels_on=False)  # type: ignore[arg-type]
    assert await _restore(rebuilt, history, watcher)
    async with rebuilt() as session:
        moments = dict((await session.execute(select(Notice.key, Notice.sign_by))).all())
    await dispose(rebuilt)
    policy = settings.policy("dongguan", "other")
    sign_within = policy.duration(policy.sign_for_days)
    assert moments == {"s1-0": None, "s2-0": now + sign_within, "s3-0": None}


HISTORIES = Path(__file__).parents[1] / "histories"


@pytest.mark.parametrize("name", sorted(p.stem for p in (HISTORIES / "v11").glob("*.json")))
async def test_the_chains_steps_come_back_from_the_local_activitys_marker(name: str) -> None:
    """Since the patch ``chain-written-locally`` a chain step (催办, 督办, 逾期) is written by a
    local activity, whose input the history does not keep: the rebuild reads the step from its
    answer in the marker, and finds in a v11 (and v12) history the steps it finds in the same
    case's v10 history (activities' inputs)."""
    converter = data_converter(Settings(), replay=True)  # the saved histories are in clear

    async def entries(version: str) -> list[tuple[list[tuple[str, int | None]], list[str]]]:
        """Each step's timeline entries (kind, level) and its slips' keys, in the timeline's
        order: a local activity's marker may land after a later step's activity was scheduled
        (the projection keeps each entry once and the newest state, in any order)."""
        text = (HISTORIES / version / f"{name}.json").read_text(encoding="utf-8")
        history = await petition_history(WorkflowHistory.from_json(name, text), converter)
        return [
            (
                [(e.kind, e.level) for e in [*record.earlier, record.event]],
                sorted(n.key for n in record.notices),
            )
            for record, _ in sorted(history.steps, key=lambda step: step[0].event.seq)
        ]

    before, now = await entries("v10"), await entries("v11")
    assert now == before
    # v12 (patch timed-steps-written-locally): the registration's and the timed intake and
    # aftercare steps are local activities too.
    assert await entries("v12") == before
    # v14 (patch patches-through-v13): one marker for all the patches, the same steps.
    assert await entries("v14") == before
    if name == "chain_to_overdue":
        kinds = [kind for step, _ in now for kind, _ in step]
        assert (kinds.count("supervision"), kinds.count("overdue")) == (3, 1), kinds


async def test_a_rebuild_restores_the_chains_steps_from_an_encrypted_history(
    dev_env: WorkflowEnvironment, templates: Templates, tmp_path: Path
) -> None:
    """On the dev server, payloads encrypted as in production: a petition whose chain climbed
    to the overdue moment comes back with its 催办, 督办 and 逾期 steps and their slips."""
    url = await templates.sqlite_copy(tmp_path / "petitionflow.db")
    settings = make_settings(tmp_path, database_url=url, day_seconds=0.1)  # 30 days in 3 s
    sessions = await open_store(settings)
    async with worker_for(dev_env.client, settings, sessions):
        case = await start_case(dev_env, sessions, settings)
        await case.accept()
        await case.until(lambda s: s.overdue)
        await settled(case)
    before = await snapshot(sessions)
    await dispose(sessions)
    lost = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"}
    )
    rebuilt = await prepare_store(lost)
    history = await read_history(dev_env.client, case.handle.id, None)
    watcher = NoticeDispatch(None, "notices", rebuilt, channels_on=False)  # type: ignore[arg-type]
    assert await _restore(rebuilt, history, watcher)
    after = await snapshot(rebuilt)
    await dispose(rebuilt)
    kinds = {dict(row)["kind"] for row in after["timeline_events"]}
    assert {"reminder", "supervision", "overdue"} <= kinds, kinds
    # The 告知书 comes back through rebuild()'s own step (the test above), not _restore's.
    before.pop("documents")
    after.pop("documents")
    assert after == before
