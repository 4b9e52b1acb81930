"""Maintaining the org directory (组织名录维护): units, people, their passwords, and the posts
they hold with the history of every term (任职记录). The bureau writes (403 for anyone else);
everyone signed in reads the history.

A replacement (换人) takes effect at the next step of every running petition without a restart:
the workflow asks who holds a post at each step. Each command is on the audit trail (the audit
middleware records every POST, PUT, PATCH and DELETE under /api/)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy.exc import IntegrityError

from api.auth import DirectoryAdmin
from api.deps import SessionDep
from api.errors import Invalid, NotAllowed, utc_moment
from api.routers.units import person_public
from api.schemas import (
    MAX_ROW_ID,
    AppointIn,
    AppointmentPublic,
    ErrorPublic,
    PasswordIn,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    PostTermPublic,
    UnitCreate,
    UnitPublic,
)
from core.passwords import hash_password, password_problem
from domain.vocabulary import Role, UnitKind
from store import accounts, directory
from store.models import Person, PostTerm

router = APIRouter(tags=["directory"])
T = TypeVar("T")

PersonId = Annotated[str, Path(min_length=1, max_length=64)]
TermId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

_WRITE: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorPublic, "description": "only the bureau maintains the directory"},
    409: {"model": ErrorPublic, "description": "contradicts the directory as it is"},
}
_ON_PERSON: dict[int | str, dict[str, Any]] = {
    **_WRITE,
    404: {"model": ErrorPublic, "description": "no such person"},
}


# The bureau is audited: who audits it, and with which password, is not its to decide.
_OPERATORS_ONLY = (
    "auditors are appointed, dismissed and given passwords by the operators, on the server: "
    "python -m worker.accounts appoint-auditor / dismiss-auditor / set-password"
)


def _refuse(exc: directory.DirectoryError, body: Any = None) -> NoReturn:
    if isinstance(exc, directory.InvalidReference):
        raise Invalid(exc.field, "invalid_reference", str(exc), getattr(body, exc.field, None))
    if isinstance(exc, directory.NotInDirectory):
        raise HTTPException(404, str(exc)) from exc
    raise HTTPException(409, str(exc)) from exc


async def _change(session: SessionDep, change: Awaitable[T], body: Any = None) -> T:
    """Run a store change and commit it; the directory's refusals become 404, 409 or 422. A
    unique constraint that fires anyway (two requests racing for one username) is a 409 too,
    on SQLite as on PostgreSQL, never a 500."""
    try:
        result = await change
        await session.commit()
    except directory.DirectoryError as exc:
        await session.rollback()
        _refuse(exc, body)
    except IntegrityError as exc:
        await session.rollback()
        raise HTTPException(409, "conflicts with the directory as it is; reload and retry") from exc
    return result


async def _person_public(session: SessionDep, person: Person) -> PersonPublic:
    return person_public(person, await accounts.posts_of(session, person.id))


def _term_public(term: PostTerm, name: str) -> PostTermPublic:
    return PostTermPublic(
        id=term.id,
        unit_id=term.unit_id,
        role=Role(term.role),
        person_id=term.person_id,
        person_name=name,
        started_at=term.started_at,
        ended_at=term.ended_at,
    )


async def _named(session: SessionDep, term: PostTerm) -> PostTermPublic:
    person = await session.get(Person, term.person_id)
    return _term_public(term, person.name if person else term.person_id)


@router.post(
    "/units", status_code=status.HTTP_201_CREATED, response_model=UnitPublic, responses=_WRITE
)
async def create_unit(body: UnitCreate, session: SessionDep, _: DirectoryAdmin) -> UnitPublic:
    """A new unit (责任单位); appoint its handlers, supervising leader, head and county
    contact leader with POST /api/v1/posts before petitions are assigned to it."""
    unit = await _change(session, directory.create_unit(session, body.id, body.name, body.kind))
    return UnitPublic(id=unit.id, name=unit.name, kind=UnitKind(unit.kind))


@router.post(
    "/people", status_code=status.HTTP_201_CREATED, response_model=PersonPublic, responses=_WRITE
)
async def create_person(body: PersonCreate, session: SessionDep, _: DirectoryAdmin) -> PersonPublic:
    """Someone new in the directory: no post and no password yet (PUT …/password sets one)."""
    person = await _change(
        session,
        directory.create_person(session, body.id, body.name, body.title, body.phone, body.username),
    )
    return await _person_public(session, person)


@router.patch("/people/{person_id}", response_model=PersonPublic, responses=_ON_PERSON)
async def update_person(
    person_id: PersonId, body: PersonUpdate, session: SessionDep, _: DirectoryAdmin
) -> PersonPublic:
    """Change a person's name, title, phone or username; the fields left out stay."""
    changes = body.model_dump(include=body.model_fields_set)
    person = await _change(session, directory.update_person(session, person_id, changes))
    return await _person_public(session, person)


@router.put(
    "/people/{person_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_ON_PERSON,
)
async def set_password(
    person_id: PersonId,
    body: PasswordIn,
    session: SessionDep,
    _: DirectoryAdmin,
) -> Response:
    """Set a person's password (e.g. a new officer's first one). It replaces the demo password,
    and every session of the old one ends (its refresh tokens are revoked, its access tokens
    refused). An auditor's password is the operators' to set (``python -m worker.accounts``):
    whoever is audited must not hold the auditor's key."""
    person = await session.get(Person, person_id)
    if person is None:
        raise HTTPException(404, f"no person {person_id!r}")
    if person.service_role is not None:
        raise HTTPException(409, f"{person_id} is a service account: only its API keys act as it")
    problem = password_problem(body.password, person.username)
    if problem:
        raise Invalid("password", "weak_password", problem, None)  # never echo it
    if person.username is None:
        raise HTTPException(409, f"{person_id} has no username to sign in with: PATCH one first")
    if any(role == Role.AUDITOR for _, role in await accounts.posts_of(session, person_id)):
        raise NotAllowed(_OPERATORS_ONLY)
    # Argon2 is slow on purpose: off the event loop.
    password_hash = await asyncio.to_thread(hash_password, body.password)
    await accounts.set_password(session, person, password_hash)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/posts",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentPublic,
    responses=_WRITE,
)
async def appoint(body: AppointIn, session: SessionDep, _: DirectoryAdmin) -> AppointmentPublic:
    """任命: ``person_id`` takes ``role`` at ``unit_id`` from now. A unit has one head, one
    supervising leader and one county contact leader: appointing one ends the holder's term
    (换人), and every running petition's next step goes to the new holder. Handlers and the
    bureau's posts may be many; the bureau's (dispatcher, county principal leader, auditor) are
    held at the bureau only. Auditors are appointed by the operators
    (``python -m worker.accounts appoint-auditor``), never by the bureau they audit."""
    if body.role is Role.AUDITOR:  # elsewhere than the bureau it is refused as invalid below
        unit = await directory.get_unit(session, body.unit_id)
        if unit is not None and unit.kind == UnitKind.BUREAU:
            raise NotAllowed(_OPERATORS_ONLY)
    made = await _change(
        session, directory.appoint(session, body.unit_id, body.role, body.person_id), body
    )
    return AppointmentPublic(
        term=await _named(session, made.term),
        ended=[await _named(session, term) for term in made.ended],
    )


@router.post(
    "/posts/{term_id}/end",
    response_model=PostTermPublic,
    responses={**_WRITE, 404: {"model": ErrorPublic, "description": "no such term"}},
)
async def end_term(term_id: TermId, session: SessionDep, _: DirectoryAdmin) -> PostTermPublic:
    """免职: the term ends now and the person no longer holds the post. A vacant chain post's
    slips go to the bureau's dispatcher until someone is appointed. An auditor's term is the
    operators' to end."""
    ending = await session.get(PostTerm, term_id)
    if ending is not None and ending.role == Role.AUDITOR and ending.ended_at is None:
        raise NotAllowed(_OPERATORS_ONLY)
    term = await _change(session, directory.end_term(session, term_id))
    return await _named(session, term)


@router.get("/posts", response_model=list[PostTermPublic])
async def post_history(
    session: SessionDep,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    role: Role | None = None,
    person_id: Annotated[str | None, Query(max_length=64)] = None,
    include_ended: bool = True,
    at: Annotated[
        datetime | None,
        Query(description="only the terms in force at this moment (who was accountable then)"),
    ] = None,
) -> list[PostTermPublic]:
    """The history of the directory (任职记录), newest first: every term, ended ones included
    unless ``include_ended=false`` (then: the current holders, with the term ids to end)."""
    at = utc_moment("at", at)
    rows = await directory.post_history(
        session, unit_id, role.value if role else None, person_id, include_ended, at
    )
    return [_term_public(term, person.name) for term, person in rows]
