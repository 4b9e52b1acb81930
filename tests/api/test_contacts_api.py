"""The directory's contact channels over the API (issue 11), on SQLite and PostgreSQL: a
person's email, mobile, quiet hours and channel choices, and the group chats' robots — whole for
the bureau, masked for others, secrets never shown."""

from __future__ import annotations

from typing import Any

from tests.helpers.api import ApiFactory

V1 = "/api/v1"
SECRET = "SECxihe-test-secret"  # a test value, never sent anywhere


async def test_a_persons_contacts_whole_for_the_bureau_and_themself_masked_for_others(
    api: ApiFactory,
) -> None:
    async with api(worker=False) as http:
        whole = (await http.get(f"{V1}/people/dongguan-h1/contacts")).json()
        assert whole == {
            "person_id": "dongguan-h1",
            "email": "dongguan-h1@qingchuan.example.org",
            "mobile": whole["mobile"],
            "quiet_hours": "22:00-07:00",
            "channel_preferences": None,
            "masked": False,
        }
        assert whole["mobile"].startswith("154") and len(whole["mobile"]) == 11
        own = await http.get(
            f"{V1}/people/dongguan-h1/contacts", headers=await http.as_user("dongguan-h1")
        )
        assert own.json()["masked"] is False
        other = await http.get(
            f"{V1}/people/dongguan-h1/contacts", headers=await http.as_user("xihe-h1")
        )
        assert other.json()["email"] == "d***@qingchuan.example.org"
        assert other.json()["mobile"] == whole["mobile"][:3] + "****" + whole["mobile"][-4:]
        assert other.json()["masked"] is True
        missing = await http.get(f"{V1}/people/nobody/contacts")
        assert missing.status_code == 404


async def test_the_bureau_sets_a_persons_channels(api: ApiFactory) -> None:
    body: dict[str, Any] = {
        "email": "he.jiaqi@example.org",
        "mobile": "+86 154 0000 0120",
        "quiet_hours": "23:30-06:00",
        "channel_preferences": {"reminder": ["sms", "email", "sms"], "supervision": []},
    }
    async with api(worker=False) as http:
        answer = await http.put(f"{V1}/people/dongguan-h2/contacts", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "person_id": "dongguan-h2",
            "email": "he.jiaqi@example.org",
            "mobile": "+86 154 0000 0120",
            "quiet_hours": "23:30-06:00",
            "channel_preferences": {"reminder": ["sms", "email"], "supervision": []},
            "masked": False,
        }
        read = await http.get(f"{V1}/people/dongguan-h2/contacts")
        assert read.json() == answer.json()
        # Everything at once: what is left out is cleared.
        cleared = await http.put(f"{V1}/people/dongguan-h2/contacts", json={})
        assert cleared.json()["email"] is None and cleared.json()["quiet_hours"] == "22:00-07:00"


async def test_contacts_are_checked_and_only_the_bureau_writes(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        for field, value in (
            ("email", "not-an-address"),
            ("mobile", "0558-6131004"),  # a landline takes no SMS
            ("quiet_hours", "25:00-07:00"),
            ("channel_preferences", {"reminder": ["wecom"]}),
            ("channel_preferences", {"telegram": ["email"]}),
        ):
            answer = await http.put(f"{V1}/people/dongguan-h2/contacts", json={field: value})
            assert answer.status_code == 422, (field, value, answer.text)
            assert answer.json()["detail"][0]["loc"][1] == field
        refused = await http.put(
            f"{V1}/people/dongguan-h1/contacts",
            json={"email": "me@example.org"},
            headers=await http.as_user("dongguan-h1"),
        )
        assert refused.status_code == 403


async def test_the_bureau_points_a_unit_at_its_group_chat(api: ApiFactory) -> None:
    body = {
        "name": "西河乡工作群",
        "unit_id": "xihe",
        "wecom_url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=xihe-wecom-key",
        "dingtalk_url": "http://127.0.0.1:9/robot/send?access_token=xihe-dingtalk-token",
        "dingtalk_secret": SECRET,
    }
    async with api(worker=False) as http:
        answer = await http.put(f"{V1}/groups/xihe", json=body)
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert shown == {
            "id": "xihe",
            "name": "西河乡工作群",
            "unit_id": "xihe",
            "wecom_url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=xihe****",
            "dingtalk_url": "http://127.0.0.1:9/robot/send?access_token=xihe****",
            "dingtalk_signed": True,
        }
        listed = (await http.get(f"{V1}/groups", headers=await http.as_user("xihe-h1"))).json()
        assert shown in listed
        assert {"township-secretaries", "bureau-chiefs", "xihe"} <= {g["id"] for g in listed}
        assert SECRET not in str(listed) and "wecom-key" not in str(listed)
        # A group that is no unit cannot take a unit's id, nor name a unit that is not there.
        posing = await http.put(f"{V1}/groups/xihe", json={"name": "假群"})
        assert posing.status_code == 422 and posing.json()["detail"][0]["loc"][1] == "unit_id"
        nowhere = await http.put(f"{V1}/groups/x", json={"name": "群", "unit_id": "nowhere"})
        assert nowhere.status_code == 422
        bad_url = await http.put(
            f"{V1}/groups/county-chiefs", json={"name": "群", "wecom_url": "ftp://x"}
        )
        assert bad_url.status_code == 422
        refused = await http.put(
            f"{V1}/groups/xihe", json=body, headers=await http.as_user("xihe-head")
        )
        assert refused.status_code == 403


async def test_a_malformed_robot_url_or_secret_is_refused(api: ApiFactory) -> None:
    """Found by schemathesis: a URL urlsplit cannot read was stored, and every list of the
    groups answered 500 after it."""
    async with api(worker=False) as http:
        for field, value in (
            ("wecom_url", "http://]bad"),
            ("dingtalk_url", "https://"),
            ("wecom_url", "http://例子.中国/send?key=k"),  # percent-encode it, as providers do
            ("dingtalk_secret", "SEC with spaces"),
        ):
            answer = await http.put(f"{V1}/groups/county-chiefs", json={"name": "群", field: value})
            assert answer.status_code == 422, (field, value, answer.text)
        assert (await http.get(f"{V1}/groups")).status_code == 200


async def test_a_person_sets_their_own_quiet_hours_and_channels_not_their_addresses(
    api: ApiFactory,
) -> None:
    mine = {"quiet_hours": "23:00-06:30", "channel_preferences": {"reminder": ["email"]}}
    async with api(worker=False) as http:
        me = await http.as_user("dongguan-h1")
        before = (await http.get(f"{V1}/people/dongguan-h1/contacts", headers=me)).json()
        answer = await http.put(f"{V1}/me/contact", json=mine, headers=me)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {**before, **mine}  # email and mobile as the bureau set them
        read = await http.get(f"{V1}/people/dongguan-h1/contacts")
        assert read.json()["quiet_hours"] == "23:00-06:30"
        # Addresses are not theirs to change: the field is refused, nothing is written.
        refused = await http.put(
            f"{V1}/me/contact", json={"email": "elsewhere@example.org"}, headers=me
        )
        assert refused.status_code == 422
        assert (await http.get(f"{V1}/people/dongguan-h1/contacts")).json() == read.json()
        bad = await http.put(f"{V1}/me/contact", json={"quiet_hours": "25:00-07:00"}, headers=me)
        assert bad.status_code == 422
