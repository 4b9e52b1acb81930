"""Contact channels of the org directory (issue 11): each person's email, mobile, quiet hours and
channel choices, and the group chats with their robots — loaded with the demo county, read for
delivery, edited by the bureau."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.contacts import Contacts, GroupRobots
from domain.delivery import DeliveryChannel
from domain.petitioner_sms import petitioner_sms_for
from domain.quiet_hours import DEFAULT_QUIET_WINDOW, QuietWindow
from domain.routing import address_for, channels_for
from domain.vocabulary import NoticeKind, Role
from store.db import kept
from store.models import ChatGroup, Notice, Person, Petition, Unit

_ROBOT_FIELDS = ("wecom_url", "dingtalk_url", "dingtalk_secret")


def groups_of(data: dict[str, Any], units: list[dict[str, Any]]) -> list[ChatGroup]:
    """The group chats of a directory file: each unit's ``robots`` (the unit's own group, under
    the unit's id) and the named ``groups`` that are no unit."""
    groups = [
        ChatGroup(
            id=unit["id"],
            name=f"{unit['name']}工作群",
            unit_id=unit["id"],
            **{name: unit["robots"].get(name) for name in _ROBOT_FIELDS},
        )
        for unit in units
        if unit.get("robots")
    ]
    taken = {unit["id"] for unit in units} | {data["bureau"]["id"]}
    for group in data.get("groups", []):
        if group["id"] in taken:
            raise ValueError(f"group {group['id']!r}: a unit has that id; pick another")
        groups.append(
            ChatGroup(
                id=group["id"],
                name=group["name"],
                unit_id=None,
                **{name: group.get(name) for name in _ROBOT_FIELDS},
            )
        )
    return groups


def contacts_of(person: Person) -> Contacts:
    return Contacts(email=person.email, mobile=person.mobile)


def robots_of(group: ChatGroup) -> GroupRobots:
    return GroupRobots(
        wecom_url=group.wecom_url,
        dingtalk_url=group.dingtalk_url,
        dingtalk_secret=group.dingtalk_secret,
    )


async def unit_robots(session: AsyncSession, unit_id: str) -> GroupRobots | None:
    """The robots of a unit's own group chat; None when it has none."""
    group = await session.scalar(select(ChatGroup).where(ChatGroup.unit_id == unit_id))
    return robots_of(group) if group is not None else None


async def _unit_robots_remembered(session: AsyncSession, unit_id: str) -> GroupRobots | None:
    """``unit_robots``, read once a session: the drainer routes a burst's notices, most of them
    to a few units, in one transaction."""
    known: dict[str, GroupRobots | None] = session.info.setdefault("unit_robots", {})
    if unit_id not in known:
        known[unit_id] = await unit_robots(session, unit_id)
    return known[unit_id]


async def any_unit_robots(session: AsyncSession) -> bool:
    """Whether some unit's group has a robot (a unit's slips are posted there)."""
    robot = or_(ChatGroup.wecom_url.is_not(None), ChatGroup.dingtalk_url.is_not(None))
    found = await session.scalar(
        select(ChatGroup.id).where(ChatGroup.unit_id.is_not(None), robot).limit(1)
    )
    return found is not None


async def list_groups(session: AsyncSession) -> list[ChatGroup]:
    return list(await session.scalars(select(ChatGroup).order_by(ChatGroup.id)))


class UnknownUnit(ValueError):
    """A group named a unit the directory does not have."""


async def put_group(
    session: AsyncSession,
    group_id: str,
    name: str,
    unit_id: str | None,
    robots: GroupRobots,
) -> tuple[ChatGroup, bool]:
    """Create or replace a group chat and its robots; True when it was created. A unit's own
    group has the unit's id."""
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise UnknownUnit(f"no unit {unit_id!r}; see GET /api/v1/units")
    if unit_id is not None and unit_id != group_id:
        raise ValueError(f"a unit's own group has the unit's id: PUT /api/v1/groups/{unit_id}")
    if unit_id is None and await session.get(Unit, group_id) is not None:
        raise ValueError(f"{group_id!r} is a unit's id: its group names unit_id {group_id!r}")
    group = await session.get(ChatGroup, group_id)
    created = group is None
    if group is None:
        group = ChatGroup(id=group_id)
        session.add(group)
    group.name = name
    group.unit_id = unit_id
    group.wecom_url = robots.wecom_url
    group.dingtalk_url = robots.dingtalk_url
    group.dingtalk_secret = robots.dingtalk_secret
    await session.flush()
    return group, created


async def set_contacts(
    session: AsyncSession,
    person: Person,
    contacts: Contacts,
    quiet_hours: str | None,
    preferences: dict[str, list[str]] | None,
) -> Person:
    """Replace a person's contact channels (all of them: what is left out is cleared)."""
    person.email = contacts.email
    person.mobile = contacts.mobile
    person.quiet_hours = quiet_hours
    person.channel_preferences = preferences
    await session.flush()
    return person


async def set_reach(
    session: AsyncSession,
    person: Person,
    quiet_hours: str | None,
    preferences: dict[str, list[str]] | None,
) -> Person:
    """A person's own choices: their quiet hours and channels, their addresses untouched."""
    person.quiet_hours = quiet_hours
    person.channel_preferences = preferences
    await session.flush()
    return person


@dataclass(frozen=True)
class Reach:
    """How a person is reached (送达): their addresses, quiet hours and channel choices."""

    contacts: Contacts
    quiet_hours: QuietWindow
    preferences: dict[str, list[str]] | None


async def reach_of(session: AsyncSession, person_id: str) -> Reach | None:
    """What the delivery needs of a recipient in the directory; None for someone not in it
    (the petitioner, whose phone is the petition's)."""
    person = await kept(session, Person, person_id)
    if person is None:
        return None
    window = QuietWindow.parse(person.quiet_hours) if person.quiet_hours else DEFAULT_QUIET_WINDOW
    return Reach(contacts_of(person), window, person.channel_preferences)


@dataclass(frozen=True)
class Route:
    """One message of a notice: a channel, its address, and the text (the petitioner's SMS has
    its own short one)."""

    channel: DeliveryChannel
    address: str
    text: str


@dataclass(frozen=True)
class NoticeRoutes:
    """Where one notice is pushed, and the recipient's quiet hours (None: none apply)."""

    routes: list[Route]
    quiet_hours: QuietWindow | None


async def routes_for(session: AsyncSession, notice: Notice) -> NoticeRoutes:
    """Every message one notice (a row of the outbox) is pushed as, besides the inbox: the
    recipient's channels (``domain.routing``) with their addresses, the petitioner's SMS to the
    petition's phone, and the unit's group robots for its own people's slips."""
    kind, role = NoticeKind(notice.kind), Role(notice.recipient_role)
    petition = await kept(session, Petition, notice.petition_id)
    if kind is NoticeKind.PETITIONER:
        if petition is None:
            return NoticeRoutes([], DEFAULT_QUIET_WINDOW)
        phone = Contacts(mobile=petition.petitioner_phone)
        sms = petitioner_sms_for(notice.key, petition.id, notice.text)
        if sms is None or not channels_for(phone, kind, role):
            return NoticeRoutes([], DEFAULT_QUIET_WINDOW)
        return NoticeRoutes(
            [Route(DeliveryChannel.SMS, petition.petitioner_phone, sms)], DEFAULT_QUIET_WINDOW
        )
    reach = await reach_of(session, notice.recipient_id)
    if reach is None:
        return NoticeRoutes([], None)
    unit_id = petition.unit_id if petition is not None else None
    group = await _unit_robots_remembered(session, unit_id) if unit_id else None
    chosen = channels_for(reach.contacts, kind, role, reach.preferences, group)
    return NoticeRoutes(
        [Route(c, address_for(c, reach.contacts, group), notice.text) for c in chosen],
        reach.quiet_hours,
    )
