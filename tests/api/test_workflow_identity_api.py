"""Workflow identity through the API: a registration whose number Temporal already knows from
another petition is refused loudly (409), never attached to that petition's workflow."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from store import petitions
from store.models import Petition, PetitionCounter
from tests.helpers.api import ApiFactory, register
from tests.helpers.county import PETITION
from tests.helpers.store import Templates

V1 = "/api/v1"


@pytest.fixture
async def store_url(templates: Templates, tmp_path: Path) -> str:
    """SQLite only: the check is Temporal's, the database merely numbers."""
    return await templates.sqlite_copy(tmp_path / "petitionflow.db")


async def test_a_restored_database_cannot_bind_a_new_petition_to_an_old_case(
    api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with api(worker=False) as http:
        first = (await register(http))["id"]
        # The read model restored from a backup taken before that registration.
        async with http.services.sessions() as session:
            await session.execute(delete(Petition).where(Petition.id == first))
            await session.execute(update(PetitionCounter).values(last=PetitionCounter.last - 1))
            await session.commit()
        other = {**PETITION, "petitioner": {"name": "王五", "phone": "13700137000"}}
        answer = await http.post(f"{V1}/petitions", json=other)
        assert answer.status_code == 409, answer.text
        assert f"petition number {first} is already used in Temporal" in answer.json()["detail"]
        async with http.services.sessions() as session:
            row = await petitions.get(session, first)
        assert row is not None and not row.workflow_started  # recorded, not attached
        await (await http.services.temporal()).get_workflow_handle(first).terminate("test over")
    assert any(r.levelno == logging.ERROR and first in r.getMessage() for r in caplog.records)
    assert "13700137000" not in caplog.text
