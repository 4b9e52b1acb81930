"""The console's forms (commands): an action on a petition, 签收, 登记 with its repeat check,
交办 from the unassigned queue, and the directory's appointments. Each posts the session's CSRF
token and goes to the service layer the JSON API calls — the same request models, the same
checks, the same refusals, shown here in words on the page they came from."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from api import service
from api.console.i18n import gettext as _
from api.console.pages import petition_page
from api.console.render import local_path, page, units_of
from api.console.session import ConsoleUser, check_csrf
from api.console.view import in_words, refusal_in_words
from api.deps import ServicesDep, SessionDep
from api.errors import ServiceError, require
from api.routers import directory as directory_api
from api.routers.petitions import PLAIN_ACTIONS
from api.schemas import AppointIn, ExtensionDecisionIn, PetitionCreate
from api.service import Case, inbox
from domain.access import Action, Principal
from domain.contracts import AcceptRequest
from domain.vocabulary import Role
from store import directory, petitions
from store.models import Petition as PetitionRow
from store.petition_lists import PetitionFilter

router = APIRouter(include_in_schema=False)
Form = dict[str, Any]
PROJECTION_POLLS = 60  # at most three seconds


async def posted(request: Request, user: ConsoleUser) -> tuple[Principal, Form]:
    """The signed-in person and the form they posted, its CSRF token checked (BadCsrf: 403)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.pop("csrf", None))
    return user, form


Posted = Annotated[tuple[Principal, Form], Depends(posted)]


def _filled(form: Form) -> Form:
    """The fields filled in: an empty field is one left out (the model's default)."""
    return {k: v.strip() for k, v in form.items() if v.strip()}


# Each action's path, the rule it needs, its request model and the service call, as the JSON
# API has them (api.routers.petitions), plus 受理 and 延期审批, whose bodies are their own.
ACTIONS: dict[str, tuple[Action, type[BaseModel], Any]] = {
    path: (action, body, call) for path, action, body, call, _ in PLAIN_ACTIONS
}
ACTIONS["accept"] = (Action.ACCEPT, AcceptRequest, service.accept)
ACTIONS["extension-decision"] = (
    Action.DECIDE_EXTENSION,
    ExtensionDecisionIn,
    service.decide_extension,
)


@router.post("/petitions/{petition_id}/act/{name}", response_class=HTMLResponse)
async def console_act(
    request: Request,
    petition_id: str,
    name: str,
    session: SessionDep,
    services: ServicesDep,
    posted: Posted,
) -> Response:
    """An action on the petition: done, back to its page; refused, the page says why."""
    user, form = posted
    if name not in ACTIONS:
        raise HTTPException(404, "no such action")
    action, model, call = ACTIONS[name]
    request.state.audit_note = f"action={action.value}"
    case = Case(session, services, user, petition_id, action, form.pop("key", None))
    try:
        body = model.model_validate(_filled(form))
        answer = await call(case, body)
    except ValidationError as exc:
        why = "；".join(str(e["msg"]) for e in exc.errors())
        return await _refused(request, case, _("填写有误：%(why)s") % {"why": why}, 422)
    except ServiceError as exc:
        return await _refused(request, case, refusal_in_words(exc.status, exc.detail), exc.status)
    owner = answer.owner.person_id if answer.owner else None
    await _projected(
        session, petition_id, (answer.stage, answer.phase, owner), len(answer.timeline)
    )
    return RedirectResponse(f"/petitions/{petition_id}", status_code=303)


async def _projected(
    session: SessionDep, petition_id: str, outcome: tuple[str | None, ...], steps: int
) -> None:
    """Wait a moment for the read model to show the action's outcome (its stage, phase and
    包案 leader) and every one of its ``steps`` on the timeline, so the page the browser is sent
    to shows it too (the workflow writes its steps right after deciding them). The steps are
    counted, not only the state: a decision's steps are written by activities that may commit
    in either order (复查: the request, then the review's 受理), and the later one carries the
    outcome while the request's entry may still be on its way."""
    for _poll in range(PROJECTION_POLLS):
        row = await session.get(PetitionRow, petition_id, populate_existing=True)
        current = (row.stage, row.phase, row.owner_id) if row else None
        written = await petitions.timeline_length(session, petition_id)
        await session.rollback()  # no transaction held open while the worker writes
        if current == outcome and written >= steps:
            return
        await asyncio.sleep(0.05)


async def _refused(request: Request, case: Case, why: str, status: int) -> HTMLResponse:
    await case.session.rollback()  # a fresh read of the petition as it is now
    reader = Case(case.session, case.services, case.reader, case.petition_id)
    return await petition_page(request, reader, error=why, status_code=status)


@router.post("/notices/{notice_id}/sign")
async def console_sign(
    notice_id: int, session: SessionDep, services: ServicesDep, posted: Posted
) -> Response:
    """签收 with one click, back to where it was clicked (我的待办 or the petition)."""
    user, form = posted
    await inbox.sign(session, services, user, notice_id)
    return RedirectResponse(local_path(form.get("back", "/")), 303)


@router.get("/register", response_class=HTMLResponse)
async def console_register_form(
    request: Request, session: SessionDep, user: ConsoleUser
) -> HTMLResponse:
    require(user, Action.REGISTER)
    return page(request, "register.html.j2", user, units=await units_of(session), form={})


@router.get("/register/repeat", response_class=HTMLResponse)
async def console_repeat_check(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    phone: Annotated[str, Query(max_length=32)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    id_number: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """The repeat check (重复件) before submit: the rule 登记 applies, on what is typed so far."""
    require(user, Action.REGISTER)
    found = None
    if phone and category:
        found = await petitions.repeat_match(
            session, phone=phone, category=category, id_number=id_number or None
        )
    return page(request, "repeat.html.j2", user, checked=bool(phone and category), found=found)


@router.post("/register", response_class=HTMLResponse)
async def console_register(
    request: Request, session: SessionDep, services: ServicesDep, posted: Posted
) -> Response:
    """登记 (and 交办 when a unit is chosen) through the service's ``register``."""
    user, form = posted
    fields = _filled(form)
    key = fields.pop("key", None)
    person = {
        k: fields.pop(f"petitioner_{k}")
        for k in ("name", "phone", "id_number")
        if f"petitioner_{k}" in fields
    }
    try:
        body = PetitionCreate.model_validate({**fields, "petitioner": person})
        registered = await service.register(session, services, user, body, key)
    except (ValidationError, ServiceError) as exc:
        why = (
            "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            if isinstance(exc, ValidationError)
            else in_words(exc.detail)
        )
        await session.rollback()
        return page(
            request,
            "register.html.j2",
            user,
            status_code=422 if isinstance(exc, ValidationError) else exc.status,
            units=await units_of(session),
            form=form,
            error=_("未能登记：%(why)s") % {"why": why},
        )
    return RedirectResponse(f"/petitions/{registered.petition.id}", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
async def console_queue(request: Request, session: SessionDep, user: ConsoleUser) -> HTMLResponse:
    """待交办: petitions registered at the bureau, each with its 交办 form."""
    require(user, Action.ASSIGN)
    found = await service.search(
        session, user, PetitionFilter(stage="registered"), limit=100, offset=0
    )
    units = [u for u in await units_of(session) if u[2] in ("township", "department")]
    return page(request, "queue.html.j2", user, items=found.items, total=found.total, units=units)


@router.get("/directory", response_class=HTMLResponse)
async def console_directory(
    request: Request, session: SessionDep, user: ConsoleUser, error: str | None = None
) -> HTMLResponse:
    """组织名录: units, people and their posts now, and the history of every term."""
    require(user, Action.ADMINISTER_DIRECTORY)
    people = await directory.people(session)
    history = await directory.post_history(session)
    return page(
        request,
        "directory.html.j2",
        user,
        units=await units_of(session),
        people=people,
        history=history[:200],
        roles=[
            r
            for r in Role
            if r not in (Role.PETITIONER, Role.CASE_OWNER, Role.INTEGRATION, Role.AUDITOR)
        ],
        error=error,
    )


@router.post("/directory/posts", response_class=HTMLResponse)
async def console_appoint(request: Request, session: SessionDep, posted: Posted) -> Response:
    """任命 through the directory API's own function (its rules: one head, no auditors)."""
    user, form = posted
    require(user, Action.ADMINISTER_DIRECTORY)
    try:
        await directory_api.appoint(AppointIn.model_validate(_filled(form)), session, user)
    except (ValidationError, ServiceError, HTTPException) as exc:
        return await _directory_refused(request, session, user, exc)
    return RedirectResponse("/directory", status_code=303)


@router.post("/directory/posts/{term_id}/end", response_class=HTMLResponse)
async def console_end_term(
    request: Request, term_id: int, session: SessionDep, posted: Posted
) -> Response:
    """免职 through the directory API's own function."""
    user, _ = posted
    require(user, Action.ADMINISTER_DIRECTORY)
    try:
        await directory_api.end_term(term_id, session, user)
    except (ServiceError, HTTPException) as exc:
        return await _directory_refused(request, session, user, exc)
    return RedirectResponse("/directory", status_code=303)


async def _directory_refused(
    request: Request, session: SessionDep, user: Principal, exc: Exception
) -> HTMLResponse:
    if isinstance(exc, ValidationError):
        why = "；".join(str(e["msg"]) for e in exc.errors())
    else:
        why = in_words(getattr(exc, "detail", str(exc)))
    await session.rollback()
    answer = await console_directory(
        request, session, user, error=_("未能办理：%(why)s") % {"why": why}
    )
    answer.status_code = getattr(exc, "status_code", getattr(exc, "status", 422))
    return answer
