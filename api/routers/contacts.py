"""Contact channels of the org directory (联系方式, issue 11): where each person's notices are
pushed (email, mobile, quiet hours, channel per notice kind) and the group chats whose robots
post a unit's slips and the daily report. Everyone signed in reads, masked; the bureau writes;
each person sets their own quiet hours and channels. Each change is on the audit trail (the
audit middleware records every PUT)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from api.auth import CurrentUser, DirectoryAdmin
from api.contact_schemas import (
    ContactsIn,
    ContactsPublic,
    GroupIn,
    GroupPublic,
    MyReachIn,
    PersonalChannel,
)
from api.deps import SessionDep
from api.errors import Invalid
from api.schemas import ErrorPublic
from domain.contacts import Contacts, GroupRobots, mask_email, mask_mobile, mask_webhook
from domain.quiet_hours import DEFAULT_QUIET_WINDOW
from domain.vocabulary import NoticeKind
from store import contacts
from store.models import ChatGroup, Person

router = APIRouter(tags=["directory"])

PersonId = Annotated[str, Path(min_length=1, max_length=64)]
GroupId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
_NO_PERSON: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "no such person"}
}
_BUREAU: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorPublic, "description": "only the bureau maintains the directory"}
}


def _contacts_public(person: Person, masked: bool) -> ContactsPublic:
    email, mobile = person.email, person.mobile
    return ContactsPublic(
        person_id=person.id,
        email=mask_email(email) if masked and email else email,
        mobile=mask_mobile(mobile) if masked and mobile else mobile,
        quiet_hours=person.quiet_hours or str(DEFAULT_QUIET_WINDOW),
        channel_preferences=person.channel_preferences,
        masked=masked,
    )


def group_public(group: ChatGroup) -> GroupPublic:
    return GroupPublic(
        id=group.id,
        name=group.name,
        unit_id=group.unit_id,
        wecom_url=mask_webhook(group.wecom_url) if group.wecom_url else None,
        dingtalk_url=mask_webhook(group.dingtalk_url) if group.dingtalk_url else None,
        dingtalk_signed=bool(group.dingtalk_secret),
    )


async def _person(session: SessionDep, person_id: str) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise HTTPException(404, f"no person {person_id!r}")
    return person


@router.get("/people/{person_id}/contacts", response_model=ContactsPublic, responses=_NO_PERSON)
async def get_contacts(
    person_id: PersonId, session: SessionDep, principal: CurrentUser
) -> ContactsPublic:
    """Where this person's notices are pushed. The bureau and the person see the addresses
    whole; anyone else masked, as a petitioner's phone is."""
    person = await _person(session, person_id)
    whole = principal.is_bureau or principal.person_id == person_id
    return _contacts_public(person, masked=not whole)


@router.put(
    "/people/{person_id}/contacts",
    response_model=ContactsPublic,
    responses={**_NO_PERSON, **_BUREAU},
)
async def put_contacts(
    person_id: PersonId, body: ContactsIn, session: SessionDep, _: DirectoryAdmin
) -> ContactsPublic:
    """Set a person's email, mobile, quiet hours and channel choices (all of them: a field
    left out is cleared). The next notice to them is pushed accordingly."""
    person = await _person(session, person_id)
    await contacts.set_contacts(
        session,
        person,
        Contacts(email=body.email, mobile=body.mobile),
        body.quiet_hours,
        _preferences(body.channel_preferences),
    )
    await session.commit()
    return _contacts_public(person, masked=False)


def _preferences(
    chosen: Mapping[NoticeKind, list[PersonalChannel]] | None,
) -> dict[str, list[str]] | None:
    """Each kind's channels, each once, in the order given."""
    if chosen is None:
        return None
    return {kind.value: list(dict.fromkeys(channels)) for kind, channels in chosen.items()}


@router.put("/me/contact", response_model=ContactsPublic, responses=_NO_PERSON)
async def put_my_contact(
    body: MyReachIn, session: SessionDep, principal: CurrentUser
) -> ContactsPublic:
    """Set your own quiet hours (免打扰) and the channels each kind of notice reaches you on
    (both: a field left out is cleared to its default). Your email and mobile are the bureau's
    to keep (``PUT /people/{id}/contacts``). The next notice to you follows them."""
    person = await _person(session, principal.person_id)
    await contacts.set_reach(
        session, person, body.quiet_hours, _preferences(body.channel_preferences)
    )
    await session.commit()
    return _contacts_public(person, masked=False)


@router.get("/groups", response_model=list[GroupPublic])
async def list_groups(session: SessionDep) -> list[GroupPublic]:
    """The group chats: each unit's own (its id is the unit's) and the named ones (乡镇书记群,
    局长群), with their robots masked."""
    return [group_public(group) for group in await contacts.list_groups(session)]


@router.put("/groups/{group_id}", response_model=GroupPublic, responses=_BUREAU)
async def put_group(
    group_id: GroupId, body: GroupIn, session: SessionDep, admin: DirectoryAdmin
) -> GroupPublic:
    """Create or replace a group chat and its robots: a unit's slips go to its own group's
    robots from the next notice on. The answer masks the URLs; the secret is never shown."""
    robots = GroupRobots(
        wecom_url=body.wecom_url,
        dingtalk_url=body.dingtalk_url,
        dingtalk_secret=body.dingtalk_secret,
    )
    try:
        group, _created = await contacts.put_group(
            session, group_id, body.name, body.unit_id, robots
        )
    except ValueError as exc:  # an unknown unit, or an id that is another unit's
        await session.rollback()
        raise Invalid("unit_id", "invalid_reference", str(exc), body.unit_id) from exc
    await session.commit()
    return group_public(group)
