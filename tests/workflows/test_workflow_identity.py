"""Workflow identity: a petition number already used in Temporal by another petition (a
database restored from a backup, two environments on one namespace) is refused, loudly."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.starter import WorkflowIdentityConflict, ensure_started, start_input
from domain.contracts import PetitionStart
from store import petitions
from store.models import Petition, PetitionCounter
from tests.helpers.store import register_petition
from worker.runtime import start_missing_workflows


async def _start_of(
    sessions: async_sessionmaker[Any], settings: Settings, petition_id: str
) -> PetitionStart:
    async with sessions() as session:
        row = await petitions.get(session, petition_id)
    assert row is not None
    return start_input(row, settings.review_units)


async def _restore_backup_before(sessions: async_sessionmaker[Any], petition_id: str) -> None:
    """What a restore from last night's backup does to the read model: the petition registered
    since is gone, and the counter hands its number out again."""
    async with sessions() as session:
        await session.execute(delete(Petition).where(Petition.id == petition_id))
        await session.execute(update(PetitionCounter).values(last=PetitionCounter.last - 1))
        await session.commit()


async def test_a_number_used_by_another_petition_is_refused(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    settings: Settings,
    started: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, queue = time_env.client, settings.task_queue
    first_id = await register_petition(sessions, settings=settings, name="张三")
    first = await _start_of(sessions, settings, first_id)
    run_id = await ensure_started(client, queue, first)
    started.append(first_id)
    await _restore_backup_before(sessions, first_id)
    second_id = await register_petition(
        sessions, settings=settings, name="李四", phone="13900139000"
    )
    assert second_id == first_id  # the restored counter numbers again
    second = await _start_of(sessions, settings, second_id)

    with pytest.raises(WorkflowIdentityConflict, match=f"{second_id} is already used"):
        await ensure_started(client, queue, second)
    assert "李四" not in caplog.text and "13900139000" not in caplog.text
    assert any(r.levelno == logging.ERROR and second_id in r.message for r in caplog.records)
    # The sweep refuses it too, and leaves the row unstarted for the operator to resolve.
    await start_missing_workflows(client, queue, sessions, settings.review_units)
    async with sessions() as session:
        row = await petitions.get(session, second_id)
    assert row is not None and not row.workflow_started
    # The petition the run belongs to still starts idempotently.
    assert await ensure_started(client, queue, first) == run_id

    # Once that run has closed, the number is refused all the same.
    await client.get_workflow_handle(first_id).terminate("test over")
    with pytest.raises(WorkflowIdentityConflict, match="registered at"):
        await ensure_started(client, queue, second)
    assert await ensure_started(client, queue, first) is None
    # Registered at the same moment elsewhere (another environment): the intake tells them apart.
    assert first.intake is not None
    elsewhere = first.model_copy(
        update={"intake": first.intake.model_copy(update={"petitioner_name": "王五"})}
    )
    with pytest.raises(WorkflowIdentityConflict, match="another petitioner or matter"):
        await ensure_started(client, queue, elsewhere)
