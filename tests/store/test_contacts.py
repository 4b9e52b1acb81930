"""Contact channels in the store (issue 11): the demo county's emails, mobiles and groups as
loaded, what the delivery reads of a recipient, and the bureau's edits, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.contacts import Contacts, GroupRobots, is_mobile
from domain.quiet_hours import DEFAULT_QUIET_WINDOW, QuietWindow
from store import contacts
from store.models import Notice, Person
from tests.helpers.settings import make_settings
from tests.helpers.store import outbox_notice, register_petition


async def test_the_demo_county_has_addresses_that_reach_no_one(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as session:
        reach = await contacts.reach_of(session, "dongguan-h1")
        everyone = [await contacts.reach_of(session, pid) for pid in ("cl-01", "bureau-01")]
    assert reach is not None
    assert reach.contacts.email == "dongguan-h1@qingchuan.example.org"
    assert reach.contacts.mobile is not None and reach.contacts.mobile.startswith("154")
    assert is_mobile(reach.contacts.mobile)
    assert reach.quiet_hours == DEFAULT_QUIET_WINDOW and reach.preferences is None
    for other in everyone:
        assert other is not None and other.contacts.email
        assert other.contacts.email.endswith("@qingchuan.example.org")


DONGGUAN_ROBOTS = {
    "wecom_url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=demo-dongguan",
    "dingtalk_url": "http://127.0.0.1:9/robot/send?access_token=demo-dongguan",
    "dingtalk_secret": "SECdemo-dongguan-not-a-real-secret",
}


async def test_the_named_groups_are_loaded_and_no_unit_posts_to_a_robot_unasked(
    sessions: async_sessionmaker[Any],
) -> None:
    """The demo county has the named groups; no unit has a robot until the bureau gives it its
    group's real one (a unit's slips would be posted there)."""
    async with sessions() as session:
        robots = await contacts.unit_robots(session, "dongguan")
        groups = {g.id: g for g in await contacts.list_groups(session)}
    assert robots is None
    async with sessions() as session:
        # Deliveries start only for 督办单 (签收) until a unit has a robot (activities.delivery).
        assert not await contacts.any_unit_robots(session)
        robots = GroupRobots(wecom_url="http://127.0.0.1:8/cgi-bin/webhook/send?key=dongguan")
        await contacts.put_group(session, "dongguan", "东关镇工作群", "dongguan", robots)
        assert await contacts.any_unit_robots(session)
    assert groups["township-secretaries"].name == "乡镇书记群"
    assert groups["township-secretaries"].unit_id is None
    assert groups["bureau-chiefs"].dingtalk_url is not None


def test_a_units_robots_in_the_directory_file_are_its_own_group() -> None:
    data = {"bureau": {"id": "bureau"}, "groups": []}
    unit = {"id": "dongguan", "name": "东关镇人民政府", "robots": DONGGUAN_ROBOTS}
    [group] = contacts.groups_of(data, [unit, {"id": "xihe", "name": "西河乡人民政府"}])
    assert (group.id, group.unit_id, group.name) == ("dongguan", "dongguan", "东关镇人民政府工作群")
    assert group.wecom_url == DONGGUAN_ROBOTS["wecom_url"]
    assert group.dingtalk_secret == DONGGUAN_ROBOTS["dingtalk_secret"]


async def test_the_bureau_points_a_unit_at_its_group_and_edits_a_persons_channels(
    sessions: async_sessionmaker[Any],
) -> None:
    robots = GroupRobots(wecom_url="http://127.0.0.1:8/cgi-bin/webhook/send?key=xihe")
    async with sessions() as session:
        _, created = await contacts.put_group(session, "xihe", "西河乡工作群", "xihe", robots)
        _, again = await contacts.put_group(session, "xihe", "西河乡工作群", "xihe", robots)
        person = await session.get(Person, "xihe-h1")
        assert person is not None
        await contacts.set_contacts(
            session,
            person,
            Contacts(email="wu.chunmei@example.com", mobile=None),
            "23:00-06:30",
            {"reminder": ["sms"]},
        )
        await session.commit()
    assert created and not again
    async with sessions() as session:
        assert await contacts.unit_robots(session, "xihe") == robots
        reach = await contacts.reach_of(session, "xihe-h1")
    assert reach is not None
    assert reach.contacts == Contacts(email="wu.chunmei@example.com")
    assert reach.quiet_hours == QuietWindow.parse("23:00-06:30")
    assert reach.preferences == {"reminder": ["sms"]}


async def test_a_group_cannot_pose_as_another_unit_or_name_a_missing_one(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as session:
        with pytest.raises(contacts.UnknownUnit):
            await contacts.put_group(session, "nowhere", "群", "nowhere", GroupRobots())
        with pytest.raises(ValueError, match="unit's id"):
            await contacts.put_group(session, "xihe-chat", "群", "xihe", GroupRobots())
        with pytest.raises(ValueError, match="is a unit's id"):
            await contacts.put_group(session, "xihe", "群", None, GroupRobots())
        assert await contacts.reach_of(session, "petitioner:XF-2026-000001") is None


def test_a_named_group_may_not_take_a_units_id() -> None:
    data = {"bureau": {"id": "bureau"}, "groups": [{"id": "dongguan", "name": "群"}]}
    with pytest.raises(ValueError, match="a unit has that id"):
        contacts.groups_of(data, [{"id": "dongguan", "name": "东关镇人民政府"}])


async def test_the_routes_of_a_notice(sessions: async_sessionmaker[Any], tmp_path: Path) -> None:
    """What the delivery pushes for each slip: the leader's email and SMS and the unit's group,
    the handler's reminder by email and in the group, the petitioner's own short SMS."""
    settings = make_settings(tmp_path)
    pid = await register_petition(sessions, settings=settings, phone="138-0000-0999")
    landline = await register_petition(sessions, settings=settings, phone="0558-6120999")
    now = datetime.now(UTC)

    def notice(key: str, kind: str, recipient: str, role: str, text: str, on: str = pid) -> Notice:
        return outbox_notice(on, key, kind, (recipient, role), text, now)

    slips = {
        "supervision": notice(
            "level-3", "supervision", "dongguan-head", "unit_head", "【督办单】…"
        ),
        "reminder": notice("reminder-1", "reminder", "dongguan-h1", "handler", "【催办单】…"),
        "told": notice(
            "petitioner-decline", "petitioner", f"petitioner:{pid}", "petitioner", "【告知书】…"
        ),
        "landline": notice(
            "petitioner-decline",
            "petitioner",
            f"petitioner:{landline}",
            "petitioner",
            "【告知书】…",
            on=landline,
        ),
    }
    async with sessions() as session:
        robots = GroupRobots(**DONGGUAN_ROBOTS)
        await contacts.put_group(session, "dongguan", "东关镇工作群", "dongguan", robots)
        session.add_all(slips.values())
        await session.flush()
        routes = {name: await contacts.routes_for(session, n) for name, n in slips.items()}
    head = routes["supervision"]
    assert [r.channel.value for r in head.routes] == ["email", "sms", "wecom", "dingtalk"]
    assert head.routes[0].address == "dongguan-head@qingchuan.example.org"
    assert head.routes[3].address.endswith("#secret=SECdemo-dongguan-not-a-real-secret")
    assert {r.text for r in head.routes} == {"【督办单】…"}
    assert head.quiet_hours == DEFAULT_QUIET_WINDOW
    assert [r.channel.value for r in routes["reminder"].routes] == ["email", "wecom", "dingtalk"]
    told = routes["told"].routes
    assert [(r.channel.value, r.address) for r in told] == [("sms", "138-0000-0999")]
    assert told[0].text == f"您的信访事项（编号{pid}）不予受理，理由和依据见书面告知书。"
    assert routes["landline"].routes == []
