"""Contact channels in the store (issue 11): the demo county's emails, mobiles and robots as
loaded, what the delivery reads of a recipient, and the bureau's edits, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.contacts import Contacts, GroupRobots, is_mobile
from domain.quiet_hours import DEFAULT_QUIET_WINDOW, QuietWindow
from store import contacts
from store.models import Person


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


async def test_a_unit_and_the_named_groups_have_their_robots(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as session:
        robots = await contacts.unit_robots(session, "dongguan")
        none = await contacts.unit_robots(session, "xihe")
        groups = {g.id: g for g in await contacts.list_groups(session)}
    assert robots is not None
    assert robots.wecom_url == "http://127.0.0.1:9/cgi-bin/webhook/send?key=demo-dongguan"
    assert robots.dingtalk_secret == "SECdemo-dongguan-not-a-real-secret"
    assert none is None
    assert groups["township-secretaries"].name == "乡镇书记群"
    assert groups["township-secretaries"].unit_id is None
    assert groups["bureau-chiefs"].dingtalk_url is not None
    assert groups["dongguan"].unit_id == "dongguan"


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
