"""The org directory (组织名录): loading the seeded county, looking up who holds a post, and
maintaining it: units, people, appointments and the history of every term (任职记录)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import contracts
from domain.notices import vacant_post
from domain.posts import SINGLE_HOLDER_ROLES, post_refusal
from domain.vocabulary import Role, UnitKind
from store import accounts, contacts
from store.models import Person, Post, PostTerm, Unit


async def load_directory_if_empty(session: AsyncSession, path: Path) -> bool:
    """Load ``path`` into an empty directory; leave a populated one alone (it may have been
    edited since). Returns True when it loaded."""
    count = await session.scalar(select(func.count()).select_from(Unit))
    if count:
        return False
    # A small file read once at first start; not worth a thread.
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))  # noqa: ASYNC240
    people: dict[str, Person] = {}

    def person(entry: dict[str, Any]) -> Person:
        if entry["id"] not in people:
            people[entry["id"]] = Person(
                id=entry["id"],
                name=entry["name"],
                title=entry["title"],
                phone=entry.get("phone"),
                username=entry.get("username"),
                email=entry.get("email"),
                mobile=entry.get("mobile"),
            )
        return people[entry["id"]]

    leaders = {entry["id"]: person(entry) for entry in data.get("county_leaders", [])}
    # Integrations' service accounts (服务账号): their own role, no post, no sign-in.
    for entry in data.get("service_accounts", []):
        people[entry["id"]] = Person(
            id=entry["id"],
            name=entry["name"],
            title=entry.get("title", accounts.SERVICE_ACCOUNT_TITLE),
            service_role=Role(entry.get("role", Role.INTEGRATION)).value,
        )
    bureau = data["bureau"]
    units = [Unit(id=bureau["id"], name=bureau["name"], kind="bureau", sort_order=0)]
    posts: list[Post] = [
        Post(unit_id=bureau["id"], role=role, person_id=person(p).id, rank=rank)
        for key, role in (
            ("dispatchers", "bureau_dispatcher"),
            ("county_principal_leaders", "county_principal_leader"),
            ("auditors", "auditor"),
        )
        for rank, p in enumerate(bureau.get(key, []) if key == "dispatchers" else data.get(key, []))
    ]
    bodies = data["units"] + data.get("review_bodies", [])
    for order, unit in enumerate(bodies, start=1):
        units.append(Unit(id=unit["id"], name=unit["name"], kind=unit["kind"], sort_order=order))
        posts.append(Post(unit_id=unit["id"], role="unit_head", person_id=person(unit["head"]).id))
        posts.append(
            Post(
                unit_id=unit["id"],
                role="supervising_leader",
                person_id=person(unit["supervising_leader"]).id,
            )
        )
        contact = leaders[unit["county_contact_leader"]]
        posts.append(Post(unit_id=unit["id"], role="county_contact_leader", person_id=contact.id))
        posts.extend(
            Post(unit_id=unit["id"], role="handler", person_id=person(h).id, rank=rank)
            for rank, h in enumerate(unit["handlers"])
        )
    session.add_all(units)
    session.add_all(people.values())
    await session.flush()
    session.add_all(contacts.groups_of(data, bodies))
    session.add_all(posts)
    now = datetime.now(UTC)
    session.add_all(
        PostTerm(unit_id=p.unit_id, role=p.role, person_id=p.person_id, started_at=now)
        for p in posts
    )
    await session.commit()
    return True


async def role_holders(session: AsyncSession, unit_id: str, role: str) -> list[tuple[Person, Post]]:
    """Everyone holding ``role`` in ``unit_id`` now, first-ranked first."""
    rows = await session.execute(
        select(Person, Post)
        .join(Post, Post.person_id == Person.id)
        .where(Post.unit_id == unit_id, Post.role == role)
        .order_by(Post.rank, Person.id)
    )
    return [(p, post) for p, post in rows]


class DirectoryIncomplete(Exception):
    """Nobody holds the post and the bureau has no dispatcher either: a configuration error the
    operator must fix. The activity keeps retrying, so the petition resumes once it is fixed."""


async def post_holder(session: AsyncSession, lookup: contracts.RoleLookup) -> contracts.Person:
    """Who holds ``lookup.role`` in the petition's unit (or at the bureau) now, the preferred
    person if they still do. A vacant post falls to the bureau's dispatcher, so the slip still
    reaches someone who can act, with a note saying why. The workflow's lookup
    (``find_role_holder``) and the 告知书's writers ask it."""
    unit_id = lookup.unit_id
    note = None
    # The bureau's posts, and the county principal leaders', are held at the bureau.
    if lookup.role in (Role.BUREAU_DISPATCHER, Role.COUNTY_PRINCIPAL_LEADER) or lookup.at_bureau:
        unit_id = await bureau_unit_id(session) or unit_id
    holders = await role_holders(session, unit_id, lookup.role.value)
    chosen = next((h for h in holders if h[0].id == lookup.preferred_person_id), None) or (
        holders[0] if holders else None
    )
    role = lookup.role
    if chosen is None:
        bureau = await bureau_unit_id(session)
        fallback = (
            await role_holders(session, bureau, Role.BUREAU_DISPATCHER.value) if bureau else []
        )
        if not fallback:
            raise DirectoryIncomplete(
                f"no {lookup.role} in unit {lookup.unit_id} and no bureau dispatcher"
            )
        chosen, role, unit_id = fallback[0], Role.BUREAU_DISPATCHER, fallback[0][1].unit_id
        note = vacant_post(lookup.role)
    person, _post = chosen
    return contracts.Person(
        person_id=person.id,
        name=person.name,
        title=person.title,
        role=role,
        unit_id=unit_id,
        note=note,
    )


async def supervising_leader(
    session: AsyncSession, petition_id: str, unit_id: str
) -> contracts.Person:
    """The unit's supervising leader (分管领导) now, as a 告知书 names them when no leader owns
    the case (since the patch ``leader-found-by-writer``, its writer asks)."""
    lookup = contracts.RoleLookup(
        petition_id=petition_id, unit_id=unit_id, role=Role.SUPERVISING_LEADER
    )
    return await post_holder(session, lookup)


async def bureau_unit_id(session: AsyncSession) -> str | None:
    return await session.scalar(select(Unit.id).where(Unit.kind == "bureau").limit(1))


async def list_units(session: AsyncSession) -> list[Unit]:
    rows = await session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id))
    return list(rows)


async def get_unit(session: AsyncSession, unit_id: str) -> Unit | None:
    return await session.get(Unit, unit_id)


async def phone_of(session: AsyncSession, person_id: str) -> str | None:
    person = await session.get(Person, person_id)
    return person.phone if person else None


async def leader(
    session: AsyncSession, person_id: str, roles: list[str]
) -> tuple[Person, Post] | None:
    """The person and one leader post they hold, or None when they hold none of ``roles``."""
    row = (
        await session.execute(
            select(Person, Post)
            .join(Post, Post.person_id == Person.id)
            .where(Person.id == person_id, Post.role.in_(roles))
            .order_by(Post.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def people(
    session: AsyncSession, unit_id: str | None = None, role: str | None = None
) -> list[tuple[Person, list[Post]]]:
    """People with all their posts, optionally only those holding a post in a unit or role.
    Unfiltered, people without a post are listed too (someone just added, or between posts),
    so the bureau sees whom it may appoint."""
    query = select(Person, Post).outerjoin(Post, Post.person_id == Person.id)
    rows = (await session.execute(query.order_by(Person.id, Post.id))).all()
    by_person: dict[str, tuple[Person, list[Post]]] = {}
    for person, post in rows:
        held = by_person.setdefault(person.id, (person, []))[1]
        if post is not None:
            held.append(post)
    return [
        (person, posts)
        for person, posts in by_person.values()
        if (unit_id is None and role is None)
        or any(
            (unit_id is None or p.unit_id == unit_id) and (role is None or p.role == role)
            for p in posts
        )
    ]


# Maintaining the directory (组织名录维护). Each function changes the session and flushes; the
# caller commits, so an appointment and the end of the terms it replaces are one transaction.


class DirectoryError(Exception):
    """A directory change that cannot be made, with the reason in words an operator reads."""


class InvalidReference(DirectoryError):
    """A field names something that does not exist or cannot be used there (an unknown unit or
    person, a role that is no post there): the caller's input is wrong, in ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DirectoryConflict(DirectoryError):
    """The change contradicts the directory as it is (an id or username taken, a post already
    held, a term already ended)."""


class NotInDirectory(DirectoryError):
    """The unit, person or term the change is about does not exist."""


@dataclass(frozen=True)
class Appointment:
    """An appointment (任命): the new term, and the terms it ended (a replacement, 换人)."""

    term: PostTerm
    ended: list[PostTerm]


async def create_unit(session: AsyncSession, unit_id: str, name: str, kind: UnitKind) -> Unit:
    if await session.get(Unit, unit_id) is not None:
        raise DirectoryConflict(f"unit {unit_id!r} exists already")
    # The flow of a petition needs one bureau: it is where unassigned petitions and vacant
    # posts fall (bureau_unit_id).
    if kind is UnitKind.BUREAU and await bureau_unit_id(session) is not None:
        raise DirectoryConflict("the directory has its bureau (信访局) already")
    last = await session.scalar(select(func.max(Unit.sort_order)))
    unit = Unit(id=unit_id, name=name, kind=kind.value, sort_order=(last or 0) + 1)
    session.add(unit)
    await session.flush()
    return unit


async def _check_username_free(session: AsyncSession, username: str | None, person_id: str) -> None:
    if username is None:
        return
    holder = await session.scalar(select(Person.id).where(Person.username == username))
    if holder is not None and holder != person_id:
        raise DirectoryConflict(f"username {username!r} is taken")


async def create_person(
    session: AsyncSession,
    person_id: str,
    name: str,
    title: str,
    phone: str | None = None,
    username: str | None = None,
) -> Person:
    """A person without a post and without a password (the bureau sets one)."""
    if await session.get(Person, person_id) is not None:
        raise DirectoryConflict(f"person {person_id!r} exists already")
    await _check_username_free(session, username, person_id)
    person = Person(id=person_id, name=name, title=title, phone=phone, username=username)
    session.add(person)
    await session.flush()
    return person


async def update_person(session: AsyncSession, person_id: str, changes: dict[str, Any]) -> Person:
    """Change ``name``, ``title``, ``phone`` or ``username``; only the keys given change."""
    person = await session.get(Person, person_id)
    if person is None:
        raise NotInDirectory(f"no person {person_id!r}")
    unknown = set(changes) - {"name", "title", "phone", "username"}
    if unknown:
        raise ValueError(f"not a person's field: {sorted(unknown)}")
    if "username" in changes:
        if person.service_role is not None and changes["username"] is not None:
            raise DirectoryConflict(_service_account(person_id))
        await _check_username_free(session, changes["username"], person_id)
        if changes["username"] != person.username:
            # Sessions were granted to the old name: they end with it.
            await accounts.revoke_refresh_tokens(session, person_id, datetime.now(UTC))
    for field, value in changes.items():
        setattr(person, field, value)
    await session.flush()
    return person


def _service_account(person_id: str) -> str:
    return (
        f"{person_id} is an integration's service account (服务账号): it holds no post and "
        "never signs in; it acts only by its API keys"
    )


async def _unit(session: AsyncSession, unit_id: str, *, lock: bool = False) -> Unit:
    query = select(Unit).where(Unit.id == unit_id)
    # On PostgreSQL two appointments to one unit wait for each other here, so two replacements
    # of a head at once cannot leave two heads (SQLite's BEGIN IMMEDIATE serialises anyway).
    unit = await session.scalar(query.with_for_update() if lock else query)
    if unit is None:
        raise InvalidReference("unit_id", f"no unit {unit_id!r}; see GET /api/v1/units")
    return unit


async def appoint(
    session: AsyncSession,
    unit_id: str,
    role: Role,
    person_id: str,
    now: datetime | None = None,
) -> Appointment:
    """Appoint (任命) ``person_id`` to ``role`` at ``unit_id`` from ``now``: a post and a term.
    For a post with one holder (``domain.posts.SINGLE_HOLDER_ROLES``) the holder's term ends at
    the same moment: a replacement. Running petitions see it at their next step, because the
    activities look the holder up at every step."""
    now = now or datetime.now(UTC)
    unit = await _unit(session, unit_id, lock=True)
    refusal = post_refusal(role, UnitKind(unit.kind))
    if refusal:
        raise InvalidReference("role", refusal)
    person = await session.get(Person, person_id)
    if person is None:
        raise InvalidReference("person_id", f"no person {person_id!r}; see GET /api/v1/people")
    if person.service_role is not None:
        raise InvalidReference("person_id", _service_account(person_id))
    holders = await role_holders(session, unit_id, role.value)
    if any(person.id == person_id for person, _ in holders):
        raise DirectoryConflict(f"{person_id} holds {role.value} at {unit_id} already")
    ended: list[PostTerm] = []
    rank = 0
    if role in SINGLE_HOLDER_ROLES:
        for _, post in holders:
            ended += await _end(session, post, now)
    elif holders:
        # A new handler (or dispatcher) goes last: the first-ranked keeps the assignment slips.
        rank = max(post.rank for _, post in holders) + 1
    # Sessions were granted on the posts held then: a new post means signing in again.
    await accounts.revoke_refresh_tokens(session, person_id, now)
    session.add(Post(unit_id=unit_id, role=role.value, person_id=person_id, rank=rank))
    term = PostTerm(unit_id=unit_id, role=role.value, person_id=person_id, started_at=now)
    session.add(term)
    await session.flush()
    return Appointment(term=term, ended=ended)


async def _end(session: AsyncSession, post: Post, now: datetime) -> list[PostTerm]:
    """Remove a current post and end its open term(s); returns the terms ended."""
    terms = list(
        await session.scalars(
            select(PostTerm).where(
                PostTerm.unit_id == post.unit_id,
                PostTerm.role == post.role,
                PostTerm.person_id == post.person_id,
                PostTerm.ended_at.is_(None),
            )
        )
    )
    for term in terms:
        term.ended_at = now
    await accounts.revoke_refresh_tokens(session, post.person_id, now)  # posts changed
    await session.delete(post)
    await session.flush()
    return terms


async def end_term(session: AsyncSession, term_id: int, now: datetime | None = None) -> PostTerm:
    """End a term (免职): the person no longer holds the post; the post may stay vacant, and a
    vacant chain post's slips go to the bureau's dispatcher until someone is appointed."""
    now = now or datetime.now(UTC)
    term = await session.get(PostTerm, term_id)
    if term is None:
        raise NotInDirectory(f"no term {term_id}")
    if term.ended_at is not None:
        raise DirectoryConflict(f"term {term_id} ended at {term.ended_at.isoformat()} already")
    await _unit(session, term.unit_id, lock=True)
    if term.role == Role.BUREAU_DISPATCHER.value:
        dispatchers = await role_holders(session, term.unit_id, term.role)
        if [person.id for person, _ in dispatchers] == [term.person_id]:
            # Nobody could maintain the directory, set a password or assign a petition then.
            raise DirectoryConflict(
                "the last bureau dispatcher's term cannot end: appoint another first"
            )
    post = await session.scalar(
        select(Post).where(
            Post.unit_id == term.unit_id, Post.role == term.role, Post.person_id == term.person_id
        )
    )
    if post is None:  # a term whose post went another way: close the record all the same
        term.ended_at = now
        await session.flush()
    else:
        await _end(session, post, now)
    return term


async def post_history(
    session: AsyncSession,
    unit_id: str | None = None,
    role: str | None = None,
    person_id: str | None = None,
    include_ended: bool = True,
    at: datetime | None = None,
) -> list[tuple[PostTerm, Person]]:
    """Terms of office (任职记录), newest first: who held which post from when to when. With
    ``at``, only the terms in force at that moment: a term counts from its start up to, not
    including, its end (at the moment of a replacement the new holder is accountable)."""
    query = select(PostTerm, Person).join(Person, Person.id == PostTerm.person_id)
    if unit_id is not None:
        query = query.where(PostTerm.unit_id == unit_id)
    if role is not None:
        query = query.where(PostTerm.role == role)
    if person_id is not None:
        query = query.where(PostTerm.person_id == person_id)
    if not include_ended:
        query = query.where(PostTerm.ended_at.is_(None))
    if at is not None:
        query = query.where(
            PostTerm.started_at <= at, PostTerm.ended_at.is_(None) | (PostTerm.ended_at > at)
        )
    rows = await session.execute(query.order_by(PostTerm.started_at.desc(), PostTerm.id.desc()))
    return [(term, person) for term, person in rows]
