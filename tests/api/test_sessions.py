"""Sign-in, sessions and API keys under attack (issue 10, items 11–13): every audit row says how
its caller signed in; keys are for integrations, never in a leader's name; auditors are the
operators'; a session ends with its password, its username or its posts, and at its time limit;
the throttle holds under concurrency and against spraying; Argon2 never blocks the loop."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from core.passwords import passwords
from store.models import RefreshToken
from tests.helpers.api import V1, ApiClient, ApiFactory


async def _key(http: ApiClient, person_id: str) -> httpx.Response:
    return await http.post(
        f"{V1}/auth/api-keys", json={"name": "12345热线", "person_id": person_id}
    )


async def _trail(http: ApiClient) -> list[dict[str, Any]]:
    answer = await http.get(
        f"{V1}/audit", params={"limit": 500}, headers=await http.as_user("audit-01")
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _bearer(pair: httpx.Response) -> dict[str, str]:
    assert pair.status_code == 200, pair.text
    return {"Authorization": f"Bearer {pair.json()['access_token']}"}


async def test_every_audit_row_says_how_its_caller_signed_in(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        issued = await _key(http, "bureau-02")
        assert issued.status_code == 201, issued.text
        assert issued.json()["issued_by"] == "demo-bureau"
        as_key = {"Authorization": "", "X-API-Key": issued.json()["key"]}
        made = await http.post(f"{V1}/people", json={"id": "p-k", "name": "甲", "title": "干事"})
        assert made.status_code == 201
        by_key = await http.post(
            f"{V1}/people", json={"id": "p-k2", "name": "乙", "title": "干事"}, headers=as_key
        )
        assert by_key.status_code == 201
        people = [r for r in await _trail(http) if r["action"] == "create_person"]
        by = {r["actor"]: r for r in people}
        assert (by["demo-bureau"]["via"], by["demo-bureau"]["api_key_id"]) == ("password", None)
        assert (
            by["bureau-02"]["via"],
            by["bureau-02"]["api_key_id"],
            by["bureau-02"]["key_issued_by"],
        ) == ("api_key", issued.json()["id"], "demo-bureau")


async def test_no_api_key_acts_in_a_leaders_name(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        for leader in ("dongguan-head", "dongguan-h1", "cl-01", "cpl-01", "audit-01"):
            refused = await _key(http, leader)
            assert refused.status_code == 422, (leader, refused.text)
            assert refused.json()["detail"][0]["type"] == "leader_post"
        # A key issued to an integration's account stops working once that account is given a
        # leader's post: it never acts with one.
        issued = await _key(http, "bureau-02")
        as_key = {"Authorization": "", "X-API-Key": issued.json()["key"]}
        assert (await http.get(f"{V1}/auth/me", headers=as_key)).status_code == 200
        head = await http.post(
            f"{V1}/posts",
            json={"unit_id": "dongguan", "role": "unit_head", "person_id": "bureau-02"},
        )
        assert head.status_code == 201, head.text
        refused_use = await http.get(f"{V1}/auth/me", headers=as_key)
        assert refused_use.status_code == 401 and "leader" in refused_use.text


async def test_auditors_are_appointed_and_given_passwords_by_operators_only(
    api: ApiFactory,
) -> None:
    async with api(worker=False) as http:
        appoint = await http.post(
            f"{V1}/posts", json={"unit_id": "bureau", "role": "auditor", "person_id": "bureau-01"}
        )
        assert appoint.status_code == 403 and "worker.accounts" in appoint.text
        password = await http.put(
            f"{V1}/people/audit-01/password", json={"password": "审计-口令-2026"}
        )
        assert password.status_code == 403
        terms = await http.get(f"{V1}/posts", params={"role": "auditor", "include_ended": "false"})
        ended = await http.post(f"{V1}/posts/{terms.json()[0]['id']}/end")
        assert ended.status_code == 403
        assert (await http.sign_in("audit-01")).status_code == 200  # the auditor still reads


async def test_a_new_password_ends_the_access_tokens_issued_before_it(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        old = _bearer(await http.sign_in("dongguan-h1"))
        assert (await http.get(f"{V1}/auth/me", headers=old)).status_code == 200
        new_password = "东关镇-信访-2026"
        changed = await http.put(
            f"{V1}/people/dongguan-h1/password", json={"password": new_password}
        )
        assert changed.status_code == 204, changed.text
        stale = await http.get(f"{V1}/auth/me", headers=old)
        assert stale.status_code == 401 and "password has changed" in stale.text
        fresh = _bearer(await http.sign_in("dongguan-h1", new_password))
        assert (await http.get(f"{V1}/auth/me", headers=fresh)).status_code == 200


async def test_a_removed_username_or_changed_posts_end_the_sessions(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        refresh = f"{V1}/auth/refresh"
        # Posts change: the refresh token granted on the old ones is revoked.
        pair = (await http.sign_in("dongguan-h2")).json()
        moved = await http.post(
            f"{V1}/posts", json={"unit_id": "xihe", "role": "handler", "person_id": "dongguan-h2"}
        )
        assert moved.status_code == 201, moved.text
        again = await http.post(refresh, json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401
        # The username removed: neither its access token nor its refresh token works.
        signed = await http.sign_in("dongguan-h2")
        pair = signed.json()
        removed = await http.patch(f"{V1}/people/dongguan-h2", json={"username": None})
        assert removed.status_code == 200, removed.text
        assert (await http.get(f"{V1}/auth/me", headers=_bearer(signed))).status_code == 401
        again = await http.post(refresh, json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401


async def test_refreshing_never_carries_a_session_past_its_limit(api: ApiFactory) -> None:
    async with api(worker=False, session_max_hours=0.1) as http:
        first = (await http.sign_in("dongguan-h1")).json()
        assert first["expires_in"] <= 6 * 60  # not 15 minutes: the session ends first
        refresh = f"{V1}/auth/refresh"
        second = await http.post(refresh, json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200 and second.json()["expires_in"] <= 6 * 60
        # Seven minutes after the sign-in (moved back rather than waited for).
        async with http.services.sessions() as session:
            await session.execute(
                update(RefreshToken).values(
                    session_started_at=datetime.now(UTC) - timedelta(minutes=7)
                )
            )
            await session.commit()
        late = await http.post(refresh, json={"refresh_token": second.json()["refresh_token"]})
        assert late.status_code == 401 and "time limit" in late.text


@pytest.fixture
def quick_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only "demo" verifies, at once: the throttle's tests count attempts, and Argon2 (slow on
    purpose, seconds on a loaded machine) would only slow them down."""

    def verify(password: str, _stored: str) -> tuple[bool, str | None]:
        return password == "demo", None

    monkeypatch.setattr(passwords, "verify_and_update", verify)


@pytest.mark.usefixtures("quick_verify")
async def test_forty_wrong_passwords_at_once_get_no_more_than_the_limit_verified(
    api: ApiFactory,
) -> None:
    async with api(worker=False) as http:
        answers = await asyncio.gather(
            *(http.sign_in("dongguan-h2", f"guess-{n}") for n in range(40))
        )
        assert Counter(a.status_code for a in answers) == {401: 10, 429: 30}


@pytest.mark.usefixtures("quick_verify")
async def test_spraying_one_guess_over_many_usernames_is_throttled(api: ApiFactory) -> None:
    async with api(
        worker=False, sign_in_client_max_failures=2, sign_in_global_max_failures=3
    ) as http:
        for name in ("xihe-h1", "xihe-h2"):
            assert (await http.sign_in(name, "12345678")).status_code == 401
        spraying = await http.sign_in("cl-02", "12345678")
        assert spraying.status_code == 429 and "from this address" in spraying.text
        # From another address: the limit of everyone's failures is reached too.
        app = http._transport.app  # type: ignore[attr-defined]
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.0.9", 4000)),
            base_url=str(http.base_url),
        )
        async with other:
            form = {"username": "cl-03", "password": "12345678"}
            overall = await other.post(f"{V1}/auth/token", data=form)
            assert overall.status_code == 429 and "of all accounts" in overall.text


async def test_argon2_runs_off_the_event_loop(
    api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    verify = passwords.verify_and_update

    def recording(password: str, stored: str) -> tuple[bool, str | None]:
        threads.append(threading.get_ident())
        return verify(password, stored)

    async with api(worker=False) as http:
        monkeypatch.setattr(passwords, "verify_and_update", recording)
        assert (await http.sign_in("dongguan-h1")).status_code == 200
        assert (await http.sign_in("nobody")).status_code == 401
    assert len(threads) == 2 and threading.get_ident() not in threads
