"""The org directory (组织名录): loading the seeded county and looking up who holds a post."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
            )
        return people[entry["id"]]

    leaders = {entry["id"]: person(entry) for entry in data.get("county_leaders", [])}
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
    """People with all their posts, optionally only those holding a post in a unit or role."""
    query = select(Person, Post).join(Post, Post.person_id == Person.id)
    rows = (await session.execute(query.order_by(Person.id, Post.id))).all()
    by_person: dict[str, tuple[Person, list[Post]]] = {}
    for person, post in rows:
        by_person.setdefault(person.id, (person, []))[1].append(post)
    return [
        (person, posts)
        for person, posts in by_person.values()
        if any(
            (unit_id is None or p.unit_id == unit_id) and (role is None or p.role == role)
            for p in posts
        )
    ]
