"""Issue 10 through the HTTP API: only the petitioner's side closes the loop (item 3), a
county principal leader may own a case (item 7), a terminated matter is not run again (item 5)
and the handling unit keeps its case through review (item 8)."""

from __future__ import annotations

from sqlalchemy import update

from store.models import Petition
from tests.helpers.api import ApiFactory, act, detail, page_of, register
from tests.helpers.store import register_petition
from tests.helpers.waiting import eventually

V1 = "/api/v1"
ID_NUMBER = "11010119800101123X"


async def test_only_the_bureau_records_a_rating_or_withdrawal_for_the_petitioner(
    api: ApiFactory,
) -> None:
    async with api(day_seconds=60) as http:
        pid = (await register(http))["id"]
        await act(http, pid, "accept")
        await act(http, pid, "complete", {"reply": "已协调企业支付全部拖欠工资。"})
        satisfied = {"rating": "satisfied", "reached_by": "phone"}
        for chain in ("dongguan-h1", "dongguan-head", "cl-01"):  # the unit supervised
            refused = await act(http, pid, "rating", satisfied, expect=403, as_user=chain)
            assert "on their behalf" in refused["detail"], chain
        await act(http, pid, "rating", {"rating": "satisfied"}, expect=422)  # how reached?
        rated = await act(http, pid, "rating", {**satisfied, "comment": "满意"})
        [event] = [e for e in rated["timeline"] if e["kind"] == "rated"]
        assert (event["person_id"], event["role"]) == ("bureau-01", "bureau_dispatcher")
        assert "经电话联系信访人" in event["note"] and "代为记录" in event["note"]

        # A county principal leader owns a case (包案); the unit's leader may not withdraw it.
        other = (await register(http))["id"]
        owned = await act(http, other, "owner", {"person_id": "cpl-01"})
        assert (owned["owner"]["person_id"], owned["owner"]["name"]) == ("cpl-01", "林振邦")
        withdrawal = {"reason": "已与企业和解", "reached_by": "visit"}
        await act(http, other, "withdraw", withdrawal, expect=403, as_user="dongguan-sup")
        gone = await act(http, other, "withdraw", withdrawal)
        assert gone["closure"] == "withdrawn"
        assert "经走访联系信访人" in gone["timeline"][-1]["note"]

        auditor = await http.as_user("audit-01")
        trail = (await http.get(f"{V1}/audit", params={"limit": 50}, headers=auditor)).json()
        done = {
            (r["action"], r["petition_id"]): r["detail"]
            for r in trail["items"]
            if r["outcome"] == "done"
        }
        assert done[("rate_petition", pid)] == "reached_by=phone"
        assert done[("withdraw_petition", other)] == "reached_by=visit"


async def test_a_repeat_of_a_terminated_matter_is_declined_unless_new_facts(
    api: ApiFactory,
) -> None:
    """Issue 10, item 5: 三级终结 — the same petitioner (ID number, else phone) and category
    answer with the earlier number, the rule that matched and 不予受理; new facts and reasons
    recorded by the bureau run it again."""
    async with api() as http:
        services = http.services
        earlier = await register_petition(
            services.sessions,
            settings=services.settings,
            category="demolition_compensation",
            phone="13900002222",
            id_number=ID_NUMBER,
        )
        async with services.sessions() as session:  # re-reviewed and terminated long ago
            await session.execute(
                update(Petition)
                .where(Petition.id == earlier)
                .values(stage="closed", closure="terminated", workflow_started=True)
            )
            await session.commit()
        same_id = {"name": "李秀英", "phone": "13800000000", "id_number": ID_NUMBER}
        repeat = await register(http, category="demolition_compensation", petitioner=same_id)
        assert (repeat["repeat_of"], repeat["repeat_rule"]) == (earlier, "id_number+category")
        assert (repeat["stage"], repeat["closure"]) == ("declined", "declined")
        told = await eventually(
            lambda: http.get(f"{V1}/petitions/{repeat['id']}/notices"),
            lambda answer: any(n["kind"] == "petitioner" for n in answer.json()),
        )
        [notice] = [n for n in told.json() if n["kind"] == "petitioner"]
        assert earlier in notice["text"] and "三级终结" in notice["text"]
        final = await detail(http, repeat["id"])
        assert [e["kind"] for e in final["timeline"]] == ["registered", "declined", "notified"]
        await act(http, repeat["id"], "accept", expect=409)

        by_phone = {"name": "李秀英", "phone": "13900002222"}
        matched = await register(http, category="demolition_compensation", petitioner=by_phone)
        assert (matched["repeat_of"], matched["repeat_rule"]) == (earlier, "phone+category")
        family = {**by_phone, "id_number": "110101199202021238"}  # a shared phone, another ID
        assert (await register(http, category="demolition_compensation", petitioner=family))[
            "repeat_of"
        ] is None
        new_facts = "取得新的拆迁评估报告，补偿标准与原答复依据不同"
        again = await register(
            http, category="demolition_compensation", petitioner=same_id, new_facts=new_facts
        )
        assert (again["repeat_of"], again["stage"], again["new_facts"]) == (
            earlier,
            "assigned",
            new_facts,
        )
        assert (await act(http, again["id"], "accept"))["stage"] == "handling"


async def test_the_handling_unit_keeps_its_case_and_its_overdue_record_in_review(
    api: ApiFactory,
) -> None:
    """Issue 10, item 8: in 复查 the petition is at the review body; the unit that handled it
    still reads it (and acts no more), and it stays on that unit's books, overdue included."""
    async with api(day_seconds=0.5) as http:
        pid = (await register(http, track="simple"))["id"]
        await act(http, pid, "accept")
        await eventually(lambda: detail(http, pid), lambda d: d["overdue"], timeout=30)
        await act(http, pid, "complete", {"reply": "已协调。"})
        await act(http, pid, "rating", {"rating": "dissatisfied", "reached_by": "phone"})
        reviewed = await act(http, pid, "review", {"reason": "对答复不服，申请复查"})
        assert (reviewed["unit_id"], reviewed["handling_unit_id"]) == ("county-review", "dongguan")
        handler = await http.as_user("dongguan-h1")
        seen = await eventually(
            lambda: http.get(f"{V1}/petitions/{pid}", headers=handler),
            lambda answer: answer.status_code == 200 and answer.json()["phase"] == "review",
        )
        assert seen.json()["handling_unit_id"] == "dongguan"
        done = await http.post(
            f"{V1}/petitions/{pid}/complete", json={"reply": "越权"}, headers=handler
        )
        assert done.status_code == 403
        mine = (await http.get(f"{V1}/petitions", headers=handler)).json()
        assert pid in [p["id"] for p in mine["items"]]
        for params in ({"unit_id": "dongguan"}, {"unit_id": "dongguan", "overdue": "true"}):
            assert pid in [p["id"] for p in (await page_of(http, **params))["items"]], params
        not_overdue = await page_of(http, unit_id="dongguan", overdue="false")
        assert pid not in [p["id"] for p in not_overdue["items"]]
        assert pid in [p["id"] for p in (await page_of(http, unit_id="county-review"))["items"]]
