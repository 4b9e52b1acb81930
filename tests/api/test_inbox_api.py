"""The inbox through the API (issue 11): a person's notices, 签收 by the recipient only and
once, the slip's 签收 on the petition's timeline, and every delivery for the bureau."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType

from domain.notice_delivery import SIGNED_FOR
from store import notices
from store.petitions import utcnow
from tests.helpers.api import V1, ApiClient, ApiFactory, register
from tests.helpers.waiting import eventually

INBOX = f"{V1}/me/notices"


async def inbox_of(http: ApiClient, user: str, **params: Any) -> dict[str, Any]:
    answer = await http.get(INBOX, params=params, headers=await http.as_user(user))
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def test_the_recipient_lists_and_signs_for_a_slip_once(api: ApiFactory) -> None:
    async with api() as http:
        first, second = (await register(http))["id"], (await register(http))["id"]
        page = await eventually(lambda: inbox_of(http, "dongguan-h1"), lambda p: p["total"] >= 2)
        assert {(n["petition_id"], n["kind"]) for n in page["items"]} == {
            (first, "assignment"),
            (second, "assignment"),
        }
        assert all(n["signed_at"] is None and n["deliveries"] == [] for n in page["items"])
        slip = next(n for n in page["items"] if n["petition_id"] == first)
        ack = f"{INBOX}/{slip['id']}/ack"

        # Someone else's notice does not exist for them, the bureau's dispatcher included.
        for other in ("dongguan-h2", "demo-bureau"):
            refused = await http.post(ack, headers=await http.as_user(other))
            assert refused.status_code == 404, refused.text
        signed = await http.post(ack, headers=await http.as_user("dongguan-h1"))
        assert signed.status_code == 200, signed.text
        signed_at = signed.json()["signed_at"]
        assert signed_at is not None
        again = await http.post(ack, headers=await http.as_user("dongguan-h1"))
        assert again.json()["signed_at"] == signed_at  # the first time stands
        # The petition's workflow, which delivers its notices, is told (ends a 签收 wait).
        client = await http.services.temporal()
        history = await client.get_workflow_handle(first).fetch_history()
        assert SIGNED_FOR in {
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        }

        # Unsigned first; by kind.
        page = await inbox_of(http, "dongguan-h1")
        assert [n["petition_id"] for n in page["items"]] == [second, first]
        assert (await inbox_of(http, "dongguan-h1", kind="supervision"))["total"] == 0
        assert (await inbox_of(http, "dongguan-h1", limit=1))["items"][0]["petition_id"] == second
        assert (await inbox_of(http, "dongguan-h2"))["total"] == 0

        # The petition's timeline shows when the slip was signed for, after the assignment.
        timeline = (await http.get(f"{V1}/petitions/{first}")).json()["timeline"]
        kinds = [e["kind"] for e in timeline]
        assert kinds[-2:] == ["assigned", "signed"]
        assert timeline[-1]["person_id"] == "dongguan-h1" and "交办单" in timeline[-1]["note"]

        # The trail records the 签收 and the refused attempts, by endpoint name.
        trail = (await http.get(f"{V1}/audit", headers=await http.as_user("audit-01"))).json()[
            "items"
        ]
        acks = [(r["actor"], r["status"]) for r in trail if r["action"] == "sign_for_notice"]
        assert ("dongguan-h1", 200) in acks and ("dongguan-h2", 404) in acks


async def test_each_notice_shows_its_deliveries_and_the_bureau_sees_them_all(
    api: ApiFactory,
) -> None:
    async with api() as http:
        pid = (await register(http))["id"]
        page = await eventually(lambda: inbox_of(http, "dongguan-h1"), lambda p: p["total"] >= 1)
        notice_id = page["items"][0]["id"]
        # A delivery as the notices' worker records it (its flow is tested in tests/workflows).
        async with http.services.sessions() as session:
            await notices.attempt(session, notice_id, "email", "h1@dongguan.example", utcnow())
            await notices.record(
                session,
                notice_id,
                "email",
                utcnow(),
                status="failed",
                error="SMTP 550: no such mailbox",
            )
        [slip] = (await http.get(f"{V1}/petitions/{pid}/notices")).json()
        [delivery] = slip["deliveries"]
        assert (delivery["channel"], delivery["status"], delivery["attempts"]) == (
            "email",
            "failed",
            1,
        )
        assert delivery["last_error"] == "SMTP 550: no such mailbox"
        assert (await inbox_of(http, "dongguan-h1"))["items"][0]["deliveries"] == [delivery]

        failed = (await http.get(f"{V1}/notices", params={"status": "failed"})).json()
        assert [(d["petition_id"], d["recipient_id"], d["kind"]) for d in failed["items"]] == [
            (pid, "dongguan-h1", "assignment")
        ]
        assert (await http.get(f"{V1}/notices", params={"status": "sent"})).json()["total"] == 0
        handler = await http.get(f"{V1}/notices", headers=await http.as_user("dongguan-h1"))
        assert handler.status_code == 403
