"""Actions under retries and slow answers: an Idempotency-Key is the Temporal update id, so a
retried action gets the first answer; an answer that does not come in time is 202 with where
to read it, never "unavailable" for an action that may have taken effect."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.api import PETITIONS, ApiFactory, register
from tests.helpers.temporal import worker_for
from tests.helpers.waiting import eventually


async def test_a_retried_action_gets_the_first_answer(api: ApiFactory) -> None:
    async with api(day_seconds=600) as http:
        pid = (await register(http))["id"]
        key = {"Idempotency-Key": "accept-XF-1"}
        first = await http.post(f"{PETITIONS}/{pid}/accept", json={}, headers=key)
        assert first.status_code == 200, first.text
        again = await http.post(f"{PETITIONS}/{pid}/accept", json={}, headers=key)
        # Not 409 "already accepted": the same answer, under the same action id.
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert again.headers["Action-Id"] == first.headers["Action-Id"]
        # Without the key (or with another) it is a new action, and the stage refuses it.
        fresh = await http.post(f"{PETITIONS}/{pid}/accept", json={})
        assert fresh.status_code == 409 and "accept" in fresh.json()["detail"]
        other = await http.post(
            f"{PETITIONS}/{pid}/accept", json={}, headers={"Idempotency-Key": "accept-XF-2"}
        )
        assert other.status_code == 409
        # One reader's key is not another's: the unit's handler with the bureau's key acts anew.
        handler = await http.as_user("dongguan-h1")
        theirs = await http.post(f"{PETITIONS}/{pid}/accept", json={}, headers={**handler, **key})
        assert theirs.status_code == 409
        # A key that is no printable ASCII token is refused before anything happens.
        bad = await http.post(
            f"{PETITIONS}/{pid}/complete",
            json={"reply": "已办"},
            headers={b"Idempotency-Key": "重试 1".encode()},
        )
        assert bad.status_code == 422


async def test_an_answer_too_late_is_pending_and_its_outcome_readable(api: ApiFactory) -> None:
    # No worker yet: the workflow cannot answer within the RPC timeout.
    async with api(worker=False, day_seconds=600, temporal_rpc_timeout_seconds=1) as http:
        pid = (await register(http))["id"]
        key = {"Idempotency-Key": "slow-accept"}
        late = await http.post(f"{PETITIONS}/{pid}/accept", json={}, headers=key)
        assert late.status_code == 202, late.text
        pending = late.json()["detail"]
        assert pending["status"] == "pending"
        assert late.headers["Location"] == pending["outcome"]
        assert pending["outcome"].endswith(f"/petitions/{pid}/actions/{pending['action_id']}")
        still = await http.get(pending["outcome"])
        assert still.status_code == 202
        # An action id the engine never saw: it was not applied.
        unknown = pending["outcome"].replace(pending["action_id"][-12:], "0" * 12)
        assert (await http.get(unknown)).status_code == 404

        services = http.services
        async with worker_for(
            services.client or await services.temporal(), services.settings, services.sessions
        ):

            async def outcome() -> httpx.Response:
                return await http.get(pending["outcome"])

            done = await eventually(outcome, lambda r: r.status_code == 200, timeout=30)
            state: dict[str, Any] = done.json()
            # It took effect: accepted once, by the request that was answered 202.
            assert state["stage"] == "handling" and state["accepted_at"] is not None
            again = await http.post(f"{PETITIONS}/{pid}/accept", json={}, headers=key)
            assert again.status_code == 200
            assert again.json()["accepted_at"] == state["accepted_at"]
