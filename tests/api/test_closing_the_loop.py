"""Issue 10 through the HTTP API: only the petitioner's side closes the loop (item 3), and a
county principal leader may own a case (item 7)."""

from __future__ import annotations

from tests.helpers.api import ApiFactory, act, register

V1 = "/api/v1"


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
