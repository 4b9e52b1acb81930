"""The console's pages that read (查阅): sign-in and sign-out, 我的待办, the lists, one
petition, its slips as PDF, and the 督查 board — each a call of the service layer the JSON API
calls (api.service), rendered as zh-CN HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api import service
from api.auth import check_password
from api.console import i18n
from api.console import session as console_session
from api.console.i18n import gettext as _
from api.console.render import handlers_of, leaders_of, local_path, page, sees_board, units_of
from api.console.session import ConsoleUser
from api.console.view import beijing, next_due, notice_label, offered, pending, refusal_in_words
from api.deps import ServicesDep, SessionDep
from api.errors import NotAllowed, ServiceError
from api.routers.petitions import ListFilters
from api.service import Case, inbox, printing
from api.service.read import within_reach
from domain.access import Action, Principal
from domain.vocabulary import Category, Phase, Role, Stage
from store import board
from store.petition_lists import PetitionFilter

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 50  # a page of the list, as the API's default


@router.get("/login", response_class=HTMLResponse)
async def console_login_page(
    request: Request, services: ServicesDep, next: str = "/", expired: bool = False
) -> HTMLResponse:
    response = HTMLResponse("")
    token = console_session.login_token(request, response, services.settings)
    idle = services.settings.access_token_minutes
    message = (
        _("登录已超时（%(minutes)s分钟未操作），请重新登录。") % {"minutes": idle}
        if expired
        else None
    )
    return page(
        request, "login.html.j2", None, response, csrf=token, next=local_path(next), error=message
    )


@router.post("/login", response_class=HTMLResponse)
async def console_sign_in(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Sign-in with the API's own check: its throttle (429) and its refusal alike for an unknown
    name or a wrong password; on the audit trail as a console sign-in."""
    request.state.console = True
    request.state.credential = (console_session.VIA, None, None)
    console_session.check_login_token(request, csrf)
    settings = services.settings
    try:
        person = await check_password(request, session, settings, username, password)
    except HTTPException as exc:
        error = (
            _("登录失败次数过多，请%(minutes)s分钟后再试。")
            % {"minutes": settings.sign_in_window_minutes}
            if exc.status_code == 429
            else _("用户名或密码错误。")
        )
        response = HTMLResponse("", status_code=exc.status_code)
        token = console_session.login_token(request, response, settings)
        return page(
            request, "login.html.j2", None, response, csrf=token, next=local_path(next), error=error
        )
    redirect = RedirectResponse(local_path(next), status_code=303)
    await console_session.start(redirect, session, settings, person)
    return redirect


@router.post("/logout")
async def console_sign_out(
    request: Request, session: SessionDep, services: ServicesDep, user: ConsoleUser
) -> Response:
    form = await request.form()
    console_session.check_csrf(request, _text(form.get("csrf")))
    redirect = RedirectResponse("/login", status_code=303)
    await console_session.end(request, redirect, session, services.settings)
    return redirect


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@router.get("/language/{choice}")
async def console_language(
    request: Request, choice: str, services: ServicesDep, next: str = "/"
) -> Response:
    """The language switch (中文 / English): the choice in a cookie of its own (not the
    session's, so it holds before sign-in and after sign-out), back to the page it was made on.
    A link, not a form: it changes nothing but how the pages read."""
    redirect = RedirectResponse(local_path(next), status_code=303)
    redirect.set_cookie(
        i18n.COOKIE,
        i18n.chosen(choice),
        max_age=i18n.COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=not services.settings.dev_mode,
        path="/",
    )
    return redirect


@router.get("/", response_class=HTMLResponse)
async def console_home(
    request: Request, session: SessionDep, services: ServicesDep, user: ConsoleUser
) -> HTMLResponse:
    """我的待办: the slips not yet signed for, and the open petitions this person must act on,
    each with its next deadline, soonest first."""
    prefix = services.settings.document_prefix
    slips = await inbox.inbox(session, user, kind=None, limit=50, offset=0, prefix=prefix)
    unsigned = [n for n in slips.items if n.signed_at is None]
    # The petitions of their units, and those they own (包案); none for who holds neither.
    reach = user.chain_units or user.is_leader
    rows = await board.open_of(session, user.chain_units, user.person_id) if reach else []
    mine = [
        (row, why, next_due(row.deadlines))
        for row in rows
        if (
            why := _my_part(
                row.stage, row.accountable, row.owner_id, row.extension, row.unit_id, user
            )
        )
    ]
    waiting = None  # the bureau's: to assign (待交办) and ratings to record (待回访)
    if user.is_bureau:
        stages = [Stage.REGISTERED.value, Stage.REPLIED.value]
        waiting = await board.count_by_stage(session, within_reach(user, PetitionFilter()), stages)
    return page(
        request,
        "home.html.j2",
        user,
        slips=unsigned,
        mine=mine,
        queue=waiting[Stage.REGISTERED] if waiting else None,
        replied=waiting[Stage.REPLIED] if waiting else None,
    )


def _my_part(
    stage: str,
    accountable: dict[str, Any] | None,
    owner_id: str | None,
    extension: dict[str, Any] | None,
    unit_id: str | None,
    user: Principal,
) -> str | None:
    """Why a petition is on this person's list, or None: they are accountable now, it waits for
    their unit's 受理, an extension waits for their approval, or they own the case (包案)."""
    if stage == Stage.ASSIGNED and (unit_id, Role.HANDLER) in user.posts:
        return _("待受理")
    if (
        extension
        and extension.get("approved") is None
        and user.may(Action.DECIDE_EXTENSION, unit_id)
    ):
        return _("待审批延期")
    if accountable and accountable.get("person_id") == user.person_id:
        return _("由您负责办理") if accountable.get("role") == Role.HANDLER else _("由您督办")
    if owner_id == user.person_id:
        return _("您包案")
    return None


@router.get("/petitions", response_class=HTMLResponse)
async def console_list(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    filters: ListFilters,
    open_only: bool = False,
) -> HTMLResponse:
    """A list, as the board's numbers link to it, with the API's filters."""
    found: Sequence[Any]  # rows of the read model, or the list's summaries: alike to the page
    if open_only and filters.stage is None:  # a board cell: open ones only, as it counts them
        found = await board.listed(session, within_reach(user, filters), LIST_LIMIT)
        total = len(found)
    else:
        result = await service.search(session, user, filters, limit=LIST_LIMIT, offset=0)
        found, total = result.items, result.total
    units = await units_of(session)
    names = {unit_id: name for unit_id, name, _ in units}
    return page(request, "list.html.j2", user, items=found, total=total, unit_names=names)


@router.get("/petitions/{petition_id}", response_class=HTMLResponse)
async def console_petition(
    request: Request,
    petition_id: str,
    session: SessionDep,
    services: ServicesDep,
    user: ConsoleUser,
) -> HTMLResponse:
    """One petition as the reader may see it (contacts masked as the API masks them)."""
    return await petition_page(request, Case(session, services, user, petition_id))


async def petition_page(
    request: Request, case: Case, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The petition page, with ``error`` (a refusal, in words) when an action was refused."""
    try:
        view = await service.detail(case)
    except ServiceError as exc:
        message = refusal_in_words(exc.status, exc.detail)
        return page(request, "error.html.j2", case.reader, status_code=exc.status, message=message)
    slips = await service.notices(case)
    documents = await service.documents(case) + await service.documents(case, "reply_opinion")
    units = await units_of(case.session)
    handlers = await handlers_of(case.session, view.unit_id) if view.unit_id else []
    actions = offered(view, case.reader, case.services.settings)
    # 包案's choice of leaders, read only when the form is offered.
    leaders = await leaders_of(case.session) if Action.SET_OWNER in actions else []
    return page(
        request,
        "petition.html.j2",
        case.reader,
        status_code=status_code,
        p=view,
        # What is still ahead; once none is, the last that passed (why it is overdue).
        deadlines=pending([d for d in view.deadlines if not d.passed] or view.deadlines[-1:]),
        slips=slips,
        documents=documents,
        actions=actions,
        units=units,
        handlers=handlers,
        leaders=leaders,
        error=error,
        beijing=beijing,
        notice_label=notice_label,
    )


@router.get("/petitions/{petition_id}/notices/{notice_id}.pdf")
async def console_notice_pdf(
    petition_id: str, notice_id: int, session: SessionDep, services: ServicesDep, user: ConsoleUser
) -> Response:
    """A slip as PDF, read like the petition (not found outside the reader's reach)."""
    case = Case(session, services, user, petition_id)
    body = await printing.as_pdf(await printing.notice_page(case, notice_id))
    return _pdf(body, f"{petition_id}-notice-{notice_id}")


@router.get("/petitions/{petition_id}/documents/{document_id}.pdf")
async def console_document_pdf(
    petition_id: str,
    document_id: int,
    session: SessionDep,
    services: ServicesDep,
    user: ConsoleUser,
) -> Response:
    case = Case(session, services, user, petition_id)
    body = await printing.as_pdf(await printing.document_page(case, document_id))
    return _pdf(body, f"{petition_id}-document-{document_id}")


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get("/board", response_class=HTMLResponse)
async def console_board(
    request: Request,
    session: SessionDep,
    user: ConsoleUser,
    category: Category | None = None,
    phase: Phase | None = None,
    part: bool = False,
    every: Annotated[int, Query(ge=1, le=3600)] = 30,
) -> HTMLResponse:
    """督查 board: open petitions by unit × level, overdue and due-soon lists; ``part`` is the
    board alone, which the page fetches again ``every`` seconds."""
    if not sees_board(user):
        raise NotAllowed(_("督查看板仅供信访局和各级领导查看"))
    filters = within_reach(
        user,
        PetitionFilter(
            category=category.value if category else None, phase=phase.value if phase else None
        ),
    )
    cells = await board.open_by_unit_and_level(session, filters)
    overdue = await board.listed(
        session,
        within_reach(
            user, PetitionFilter(overdue=True, category=filters.category, phase=filters.phase)
        ),
        20,
    )
    soon = await board.due_soon(session, filters, 20)
    units = dict((u, n) for u, n, _ in await units_of(session))
    # The chain's four levels (三周工作法 and the county leader), and any other a policy has.
    levels = sorted({1, 2, 3, 4} | {c.level for c in cells if c.level is not None})
    grid: dict[str | None, dict[int | None, board.Cell]] = {}
    for cell in cells:
        grid.setdefault(cell.unit_id, {})[cell.level] = cell
    # In the directory's order; those still at the bureau (待交办) last.
    rows = [(u, grid[u]) for u in [*units, None] if u in grid]
    return page(
        request,
        "board_part.html.j2" if part else "board.html.j2",
        user,
        rows=rows,
        levels=levels,
        units=units,
        overdue=overdue,
        soon=soon,
        category=category,
        phase=phase,
        query=request.url.query.replace("part=true", "").strip("&"),
        refresh_seconds=every,
        next_due=next_due,
    )
