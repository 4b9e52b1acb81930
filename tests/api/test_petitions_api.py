"""The public HTTP contract, end to end against a real Temporal dev server."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.contracts import PetitionState
from tests.helpers.api import ApiFactory, detail, page_of, register
from tests.helpers.county import PETITION
from tests.helpers.temporal import listed_by_cli
from tests.helpers.waiting import eventually
from worker.runtime import start_missing_workflows
from workflows.petition import PetitionWorkflow

V1 = "/api/v1"


async def test_units_are_the_demo_county(api: ApiFactory) -> None:
    async with api() as http:
        response = await http.get(f"{V1}/units")
    assert response.status_code == 200
    units = response.json()
    responsible = [u for u in units if u["kind"] in ("township", "department")]
    assert len(responsible) >= 6
    assert {"township", "department"} <= {u["kind"] for u in units}
    assert {"id": "dongguan", "name": "东关镇人民政府", "kind": "township"} in units


async def test_people_name_who_holds_which_post(api: ApiFactory) -> None:
    async with api() as http:
        heads = (
            await http.get(f"{V1}/people", params={"unit_id": "dongguan", "role": "unit_head"})
        ).json()
        assert [(p["id"], p["name"]) for p in heads] == [("dongguan-head", "李卫东")]
        everyone = (await http.get(f"{V1}/people")).json()
        bureau = next(p for p in everyone if p["username"] == "demo-bureau")
        assert bureau["posts"] == [{"unit_id": "bureau", "role": "bureau_dispatcher"}]
        # A county leader is the contact leader of several units: one person, several posts.
        leader = next(p for p in everyone if p["id"] == "cl-01")
        assert len(leader["posts"]) >= 2
        assert (await http.get(f"{V1}/people", params={"role": "king"})).status_code == 422


def _without(field: str) -> dict[str, Any]:
    body = copy.deepcopy(PETITION)
    del body[field]
    return body


def _with(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PETITION), **changes}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("summary"), "summary"),
        (_with(channel="fax"), "channel"),
        (_with(category="weather"), "category"),
        (_with(track="urgent"), "track"),
        (_with(persons=0), "persons"),
        (_with(unit_id="nowhere"), "unit_id"),
        (_with(unit_id="bureau"), "unit_id"),
        (_with(summary="   "), "summary"),
        (_with(petitioner={"name": "李秀英"}), "phone"),
        (_with(petitioner={"name": "李秀英", "phone": "not a phone"}), "phone"),
        (_with(surprise="field"), "surprise"),
    ],
)
async def test_invalid_registration_is_422_naming_the_field(
    api: ApiFactory, body: dict[str, Any], field: str
) -> None:
    async with api() as http:
        response = await http.post(f"{V1}/petitions", json=body)
        assert response.status_code == 422, response.text
        locations = [err["loc"] for err in response.json()["detail"]]
        assert any(field in loc for loc in locations), locations
        listing = await http.get(f"{V1}/petitions")
        assert listing.json()["total"] == 0  # nothing was registered


async def test_oversized_body_is_413_and_hostile_text_round_trips(api: ApiFactory) -> None:
    async with api() as http:
        huge = _with(content="信" * 200_000)  # ~600 KB of UTF-8
        assert (await http.post(f"{V1}/petitions", json=huge)).status_code == 413
        assert (await http.get(f"{V1}/petitions")).json()["total"] == 0
        with_nul = await http.post(f"{V1}/petitions", json=_with(content="工资\u0000拖欠"))
        assert with_nul.status_code == 422 and "content" in with_nul.text
        hostile = "'; DROP TABLE petitions; -- <script>alert('x')</script> 😀\t第二行\n第三行"
        created = await http.post(
            f"{V1}/petitions", json=_with(summary=hostile[:200], content=hostile)
        )
        assert created.status_code == 201, created.text
        stored = (await http.get(f"{V1}/petitions/{created.json()['id']}")).json()
        assert stored["content"] == hostile.strip()  # stored and shown as given, as data
        assert (await http.get(f"{V1}/petitions")).json()["total"] == 1


async def test_malformed_json_is_422_not_500(api: ApiFactory) -> None:
    async with api() as http:
        response = await http.post(
            f"{V1}/petitions", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422


async def test_register_returns_the_petition_and_idempotency_key_replays_it(
    api: ApiFactory,
) -> None:
    async with api() as http:
        headers = {"Idempotency-Key": "intake-2026-11-25-0001"}
        first = await http.post(f"{V1}/petitions", json=PETITION, headers=headers)
        assert first.status_code == 201, first.text
        petition = first.json()
        assert petition["id"].startswith("XF-20") and len(petition["id"]) == len("XF-2026-000123")
        assert petition["stage"] == "assigned"
        assert petition["content"] == PETITION["content"]  # Chinese text round-trips
        again = await http.post(f"{V1}/petitions", json=PETITION, headers=headers)
        assert again.status_code == 201
        assert again.json()["id"] == petition["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        other = await http.post(f"{V1}/petitions", json=_with(summary="另一件事"), headers=headers)
        assert other.status_code == 422
        assert "Idempotency-Key" in other.text
        listing = (await http.get(f"{V1}/petitions")).json()
        assert listing["total"] == 1
        # The assignment slip went to the unit's first handler.
        state = await eventually(
            lambda: detail(http, petition["id"]), lambda d: len(d["timeline"]) >= 2
        )
        assert [e["kind"] for e in state["timeline"]] == ["registered", "assigned"]

        # The live timeline (a workflow query) can be ahead of the slips the projection has
        # written: wait for the slip, not for a moment.
        async def slips() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (
                await http.get(f"{V1}/petitions/{petition['id']}/notices")
            ).json()
            return found

        notices = await eventually(slips, lambda found: len(found) >= 1)
        assert [(n["kind"], n["recipient_id"]) for n in notices] == [("assignment", "dongguan-h1")]
        assert "交办单" in notices[0]["text"]


@pytest.mark.parametrize("petition_id", ["XF-2026-999999", "nonsense", "XF-2026-000001x"])
async def test_unknown_petition_is_404(api: ApiFactory, petition_id: str) -> None:
    async with api() as http:
        for method, path, body in [
            ("GET", "", None),
            ("GET", "/notices", None),
            ("POST", "/accept", {}),
            ("POST", "/complete", {"reply": "已答复"}),
        ]:
            response = await http.request(method, f"{V1}/petitions/{petition_id}{path}", json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert petition_id in response.json()["detail"]


async def test_officer_actions_and_refusals(api: ApiFactory) -> None:
    async with api() as http:
        petition = await register(http)
        pid = petition["id"]
        early = await http.post(f"{V1}/petitions/{pid}/complete", json={"reply": "已答复"})
        assert early.status_code == 409
        assert "before the unit accepts" in early.json()["detail"]

        stranger = await http.post(f"{V1}/petitions/{pid}/accept", json={"handler_id": "xihe-h1"})
        assert stranger.status_code == 422
        assert "handler_id" in json.dumps(stranger.json())

        accepted = await http.post(
            f"{V1}/petitions/{pid}/accept", json={"handler_id": "dongguan-h2"}
        )
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        assert (body["stage"], body["level"], body["overdue"]) == ("handling", 1, False)
        assert body["accountable"]["person_id"] == "dongguan-h2"
        assert body["accountable"]["role"] == "handler"
        deadline_kinds = {d["kind"] for d in body["deadlines"]}
        assert deadline_kinds == {"escalation", "overdue"}
        assert all(d["reason"] for d in body["deadlines"])  # every deadline explains itself

        twice = await http.post(f"{V1}/petitions/{pid}/accept")
        assert twice.status_code == 409
        assert "already handling" in twice.json()["detail"]

        empty = await http.post(f"{V1}/petitions/{pid}/complete", json={"reply": ""})
        assert empty.status_code == 422
        assert "reply" in json.dumps(empty.json())

        done = await http.post(
            f"{V1}/petitions/{pid}/complete", json={"reply": "已督促企业足额支付。"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["stage"] == "replied"
        assert done.json()["reply"] == "已督促企业足额支付。"

        again = await http.post(f"{V1}/petitions/{pid}/complete", json={"reply": "再次答复"})
        assert again.status_code == 409
        reaccept = await http.post(f"{V1}/petitions/{pid}/accept")
        assert reaccept.status_code == 409

        # The read model follows the answer within a moment (each step is written right after
        # it is decided): wait for the completion's step, then check what it holds. By its
        # seq, not by a count: the upload's step, written inside its own workflow task, may
        # land before the completion's, written by an activity.
        final = await eventually(
            lambda: detail(http, pid),
            lambda d: (
                d["stage"] == "replied" and [e["seq"] for e in d["timeline"]][:5] == [1, 2, 3, 4, 5]
            ),
        )
        assert final["reply"] == "已督促企业足额支付。"
        kinds = [e["kind"] for e in final["timeline"]]
        assert kinds[:5] == ["registered", "assigned", "accepted", "notified", "completed"]
        assert set(kinds[5:]) <= {"uploaded"}  # the upload runs beside the revisit
        replied = await page_of(http, stage="replied")
        assert [p["id"] for p in replied["items"]] == [pid]


async def test_list_filters_and_pagination(api: ApiFactory) -> None:
    async with api() as http:
        ids = [(await register(http, unit_id=unit))["id"] for unit in ("dongguan", "xihe", "xihe")]
        await http.post(f"{V1}/petitions/{ids[0]}/accept")
        by_unit = (await http.get(f"{V1}/petitions", params={"unit_id": "xihe"})).json()
        assert sorted(p["id"] for p in by_unit["items"]) == sorted(ids[1:])
        # The list is the read model's: it shows the acceptance within a moment.
        handling = await eventually(
            lambda: page_of(http, stage="handling"), lambda page: page["total"] == 1
        )
        assert [p["id"] for p in handling["items"]] == [ids[0]]
        level1 = (await http.get(f"{V1}/petitions", params={"level": 1})).json()
        assert [p["id"] for p in level1["items"]] == [ids[0]]
        not_overdue = (await http.get(f"{V1}/petitions", params={"overdue": "false"})).json()
        assert not_overdue["total"] == 3
        page = (await http.get(f"{V1}/petitions", params={"limit": 2, "offset": 2})).json()
        assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (3, 1, 2, 2)
        assert page["items"][0]["id"] == ids[0]  # newest first
        bad = await http.get(f"{V1}/petitions", params={"stage": "lost"})
        assert bad.status_code == 422
        too_many = await http.get(f"{V1}/petitions", params={"limit": 100000})
        assert too_many.status_code == 422


async def test_chain_escalates_by_itself_with_a_short_policy_day(api: ApiFactory) -> None:
    """The black-box promise with a compressed day: 2, 3, 4, overdue; completion stops it."""
    async with api(day_seconds=0.25) as http:
        left = (await register(http))["id"]
        done_early = (await register(http, unit_id="xihe"))["id"]
        for pid in (left, done_early):
            assert (await http.post(f"{V1}/petitions/{pid}/accept")).status_code == 200
        await eventually(lambda: detail(http, done_early), lambda d: d["level"] == 2, timeout=20)
        completed = await http.post(
            f"{V1}/petitions/{done_early}/complete", json={"reply": "已办结"}
        )
        assert completed.status_code == 200
        # Under load the next week can fire between seeing level 2 and the completion landing:
        # the chain must stop at whatever level the completion found, not necessarily 2.
        stopped_at = completed.json()["level"]
        assert stopped_at in (2, 3)
        seen_levels: list[int] = []

        async def observe() -> dict[str, Any]:
            state = await detail(http, left)
            if not seen_levels or seen_levels[-1] != state["level"]:
                seen_levels.append(state["level"])
            return state

        final = await eventually(observe, lambda d: d["overdue"], timeout=30)
        assert seen_levels[-3:] == [2, 3, 4] or seen_levels[-2:] == [3, 4]
        assert final["stage"] == "overdue" and final["level"] == 4
        supervision = [e["level"] for e in final["timeline"] if e["kind"] == "supervision"]
        assert supervision == [2, 3, 4]
        assert [e["kind"] for e in final["timeline"]].count("overdue") == 1

        stopped = await detail(http, done_early)
        # Replied where it stood; by now its revisit window may have lapsed too (not reached).
        assert stopped["stage"] in ("replied", "closed") and stopped["level"] == stopped_at
        supervised = [e["level"] for e in stopped["timeline"] if e["kind"] == "supervision"]
        assert supervised == list(range(2, stopped_at + 1))
        assert not any(e["kind"] == "overdue" for e in stopped["timeline"])

        async def listed(**params: Any) -> list[str]:
            page = (await http.get(f"{V1}/petitions", params=params)).json()
            return [p["id"] for p in page["items"]]

        async def left_slips() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await http.get(f"{V1}/petitions/{left}/notices")).json()
            return found

        # The lists and slips come from the read model, which may be a step behind the live
        # state: wait for the projection, then check it holds exactly what is expected.
        assert await eventually(lambda: listed(overdue="true"), lambda ids: ids == [left])
        assert await listed(level=4) == [left]
        slips = await eventually(left_slips, lambda found: found[-1]["kind"] == "overdue")
        # The chain's 督办单, one a level. With a quarter-second day a busy machine can also let
        # the statutory 受理 limit pass before the acceptance lands (15 days, under 4 s): its
        # 督办单 (keys supervision-accept…) are the intake's, not the chain's.
        chain = [n for n in slips if not n["key"].startswith("supervision-a")]
        assert [n["level"] for n in chain if n["kind"] == "supervision"] == [2, 3, 4]
        assert slips[-1]["kind"] == "overdue" and slips[-1]["recipient_role"] == "bureau_dispatcher"


async def test_temporal_cli_lists_one_workflow_per_petition(
    api: ApiFactory, dev_env: WorkflowEnvironment
) -> None:
    async with api() as http:
        ids = [(await register(http))["id"] for _ in range(2)]
    listed_ids = listed_by_cli(dev_env, "WorkflowType = 'PetitionWorkflow'")
    for pid in ids:
        assert listed_ids.count(pid) == 1, listed_ids


async def test_temporal_down_registers_safely_and_the_sweep_starts_it_later(
    api: ApiFactory, dev_env: WorkflowEnvironment, tmp_path: Any
) -> None:
    """Nothing is lost: with Temporal unreachable, registration keeps the intake record and
    answers 503 naming the number; reads answer from the read model; actions answer 503; the
    worker's sweep starts the workflow once Temporal is reachable."""
    async with api(temporal_address="127.0.0.1:1") as http:
        response = await http.post(f"{V1}/petitions", json=PETITION)
        assert response.status_code == 503, response.text
        listing = (await http.get(f"{V1}/petitions")).json()
        assert listing["total"] == 1
        pid = listing["items"][0]["id"]
        assert pid in response.json()["detail"]
        state = await detail(http, pid)
        assert state["stage"] == "assigned" and state["timeline"] == []
        accept = await http.post(f"{V1}/petitions/{pid}/accept")
        assert accept.status_code == 503
        settings, sessions = http.services.settings, http.services.sessions
        # The fixture's worker polls the same task queue; the sweep is what starts it.
        assert (
            await start_missing_workflows(
                dev_env.client, settings.task_queue, sessions, settings.review_units
            )
            == 1
        )
        assert (
            await start_missing_workflows(
                dev_env.client, settings.task_queue, sessions, settings.review_units
            )
            == 0
        )
        handle = dev_env.client.get_workflow_handle(pid)
        live: PetitionState = await eventually(
            lambda: handle.query(PetitionWorkflow.state), lambda s: len(s.timeline) >= 2
        )
        assert [e.kind for e in live.timeline] == ["registered", "assigned"]
