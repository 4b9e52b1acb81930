"""Inputs and outages that answered 500 (issue 10, items 16–18): an unreachable database is a
503 and /readyz says so; naive or impossible moments, lone surrogates and a racing
Idempotency-Key are a 4xx or the replay; weak passwords are refused; an action on a petition
whose workflow has not started says so; notices' texts stay out of INFO logs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.testing import WorkflowEnvironment

from store.db import make_sessionmaker, readers
from tests.helpers.api import PETITIONS, V1, ApiFactory, register
from tests.helpers.county import PETITION
from tests.helpers.ports import free_port
from tests.helpers.waiting import eventually


async def test_an_unreachable_database_answers_503_and_readyz_says_so(
    api: ApiFactory, store_url: str, tmp_path: Path
) -> None:
    async with api(worker=False) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok", ready.text
        # The database goes away: PostgreSQL refuses connections, SQLite's file is gone.
        if store_url.startswith("postgresql"):
            gone = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/petitionflow"
        else:
            (tmp_path / "not-a-folder").write_text("")
            gone = f"sqlite+aiosqlite:///{tmp_path / 'not-a-folder' / 'petitionflow.db'}"
        services = http.services
        services.sessions = make_sessionmaker(create_async_engine(gone))
        services.readers = readers(services.sessions)
        for answer in (
            await http.get(PETITIONS),
            await http.post(f"{V1}/people", json={"id": "p1", "name": "甲", "title": "干事"}),
            await http.post(f"{V1}/auth/token", data={"username": "x", "password": "y"}),
        ):
            assert answer.status_code == 503, answer.text
        assert (await http.get("/healthz")).status_code == 200  # alive, not ready
        not_ready = await http.get("/readyz")
        assert not_ready.status_code == 503 and "unreachable" in not_ready.json()["database"]


async def test_readyz_says_when_temporal_is_unreachable(api: ApiFactory) -> None:
    async with api(worker=False, temporal_address=f"127.0.0.1:{free_port()}") as http:
        answer = await http.get("/readyz")
        assert answer.status_code == 503, answer.text
        assert answer.json()["database"] == "ok" and answer.json()["temporal"] != "ok"


async def test_naive_or_impossible_moments_and_lone_surrogates_are_422(
    api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with api(worker=False) as http:
        for moment in ("2026-01-01T00:00:00", "0001-01-01T00:00:00+08:00"):
            answer = await http.get(PETITIONS, params={"due_before": moment})
            assert answer.status_code == 422, (moment, answer.text)
            assert answer.json()["detail"][0]["loc"] == ["query", "due_before"]
        lone = '{"refresh_token": "\\ud800"}'
        json_body = {"Content-Type": "application/json"}
        unauthenticated = await http.post(
            f"{V1}/auth/refresh", content=lone, headers={**json_body, "Authorization": ""}
        )
        assert unauthenticated.status_code == 422, unauthenticated.text
        body = '{"id": "p1", "name": "\\udfff", "title": "干事"}'
        signed_in = await http.post(f"{V1}/people", content=body, headers=json_body)
        assert signed_in.status_code == 422, signed_in.text
    assert "Traceback" not in caplog.text and "\ud800" not in caplog.text


async def test_one_idempotency_key_sent_six_times_at_once_registers_once(
    api: ApiFactory,
) -> None:
    async with api(worker=False) as http:
        key = {"Idempotency-Key": "hotline-call-0001"}
        answers = await asyncio.gather(
            *(http.post(PETITIONS, json=PETITION, headers=key) for _ in range(6))
        )
        assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
        replays = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
        assert len(replays) == sum(a.status_code == 201 for a in answers) - 1


async def test_weak_passwords_are_refused(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        for password, why in [
            ("12345678", "common"),
            ("Password1", "common"),
            ("abcdefghij", "common"),
            ("          ", "whitespace"),
            ("dongguan-h1-2026", "username"),
        ]:
            answer = await http.put(
                f"{V1}/people/dongguan-h1/password", json={"password": password}
            )
            assert answer.status_code == 422 and why in answer.json()["detail"][0]["msg"]
            assert password not in answer.text


async def test_an_action_before_the_workflow_started_says_so(
    api: ApiFactory, dev_env: WorkflowEnvironment
) -> None:
    async with api(worker=False, temporal_address=f"127.0.0.1:{free_port()}") as http:
        down = await http.post(PETITIONS, json={**PETITION, "unit_id": "dongguan"})
        assert down.status_code == 503, down.text
        pid = down.json()["detail"].split()[1]
        http.services.client = dev_env.client  # Temporal is back; the sweep has not run yet
        answer = await http.post(f"{PETITIONS}/{pid}/accept", json={})
        assert answer.status_code == 409, answer.text
        assert "has not started yet" in answer.text and "closed" not in answer.text


async def test_notice_texts_stay_out_of_info_logs(
    api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with api(day_seconds=600) as http:
        pid = (await register(http, unit_id="dongguan"))["id"]
        notices = await eventually(
            lambda: http.get(f"{PETITIONS}/{pid}/notices"),
            lambda answer: answer.status_code == 200 and bool(answer.json()),
        )
    assert f"notice {pid}" in caplog.text  # the slip is logged, by number and kind…
    for notice in notices.json():
        assert notice["text"] not in caplog.text  # …never its text
