"""Rendering the console's pages: one Jinja2 environment (autoescaped, with gettext in the
request's language: api.console.i18n), the labels and the signed-in person's navigation on every
page, and the directory's names the forms offer."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from api.console import i18n
from api.console.i18n import gettext as _
from api.console.view import labels
from domain.access import LEADER_ROLES, Principal
from domain.vocabulary import Role
from store import directory

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.add_extension("jinja2.ext.i18n")
# Newstyle: _("第%(level)s级", level=l) formats after translating, and escapes its values.
templates.env.extend(newstyle_gettext=True)  # the extension's own flag, for {% trans %}
templates.env.globals.update(i18n.TEMPLATE_CALLABLES)
templates.env.globals.update(labels())
templates.env.globals["languages"] = i18n.LANGUAGES
# Each form's Idempotency-Key: a form sent twice (a double click, a retry) acts once.
templates.env.globals["new_key"] = lambda: uuid.uuid4().hex


def local_path(target: str) -> str:
    """Only a path of this site is a place to send the browser (no open redirect: not
    //elsewhere, nor /\\elsewhere, which browsers read alike)."""
    return target if target.startswith("/") and target[1:2] not in ("/", "\\") else "/"


def sees_board(user: Principal) -> bool:
    """The 督查 board: the bureau and the county's leaders read every unit; a unit's leaders
    see their own units' row (the board counts within the reader's reach, as the lists do)."""
    return user.reads_all or user.is_leader


def nav(user: Principal | None) -> list[tuple[str, str]]:
    """The menu: what this person's posts open to them."""
    if user is None:
        return []
    items = [("/", _("我的待办")), ("/petitions", _("信访事项"))]
    if user.is_bureau:
        items += [("/register", _("登记")), ("/queue", _("待交办"))]
    if sees_board(user):
        items.append(("/board", _("督查看板")))
    if user.reads_reports:
        items.append(("/reports/monthly", _("报表")))
    if user.is_bureau:
        items.append(("/directory", _("组织名录")))
    return items


def page(
    request: Request,
    name: str,
    user: Principal | None,
    response: Response | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``name`` rendered with ``context``; the cookies ``response`` set are kept."""
    answer = templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "nav": nav(user),
            "csrf": getattr(request.state, "csrf", None),
            "path": request.url.path,
            # Where the language switch sends the browser back to: this very page.
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "lang": i18n.language(),
            "status": status_code,
            **context,
        },
        status_code=status_code,
    )
    if response is not None:
        for key, value in response.headers.items():
            if key == "set-cookie":
                answer.headers.append(key, value)
    return answer


async def units_of(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Every unit: id, name, kind."""
    return [(u.id, u.name, u.kind) for u in await directory.list_units(session)]


async def handlers_of(session: AsyncSession, unit_id: str) -> list[tuple[str, str]]:
    """The unit's handlers (承办人), whom 受理 may name: id, name."""
    return [
        (p.id, p.name)
        for p, _ in await directory.role_holders(session, unit_id, Role.HANDLER.value)
    ]


async def leaders_of(session: AsyncSession) -> list[tuple[str, str]]:
    """The directory's leaders now, whom 包案 may name (the post ``set_owner`` asks for):
    id, and the name with the title."""
    return [
        (person.id, f"{person.name}（{person.title}）")
        for person, posts in await directory.people(session)
        if any(post.role in LEADER_ROLES for post in posts)
    ]
