"""The org directory (组织名录): units (责任单位) and the people holding their posts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.schemas import PersonPublic, PostPublic, UnitPublic
from domain.vocabulary import Role, UnitKind
from store import directory
from store.models import Person

router = APIRouter(tags=["directory"])


def person_public(person: Person, posts: Iterable[tuple[str, str]]) -> PersonPublic:
    """A person of the directory with the posts they hold now, (unit id, role) each."""
    return PersonPublic(
        id=person.id,
        name=person.name,
        title=person.title,
        phone=person.phone,
        username=person.username,
        posts=[PostPublic(unit_id=unit, role=Role(role)) for unit, role in posts],
        service_role=Role(person.service_role) if person.service_role else None,
    )


@router.get("/units", response_model=list[UnitPublic])
async def list_units(session: SessionDep) -> list[UnitPublic]:
    """Every unit of the directory: townships, county departments and the bureau."""
    return [
        UnitPublic(id=u.id, name=u.name, kind=UnitKind(u.kind))
        for u in await directory.list_units(session)
    ]


@router.get("/people", response_model=list[PersonPublic])
async def list_people(
    session: SessionDep,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    role: Role | None = None,
) -> list[PersonPublic]:
    """Who holds which post now: the ids to name a handler, an approver or a case owner."""
    return [
        person_public(person, [(p.unit_id, p.role) for p in posts])
        for person, posts in await directory.people(session, unit_id, role.value if role else None)
    ]
