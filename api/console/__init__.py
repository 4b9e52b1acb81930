"""The web console (工作台): zh-CN pages (English where a person picks it) for the bureau,
the units' officers and the county's leaders, served by the API's own app under ``/`` (the JSON
API stays under ``/api/v1``) on the same service layer — server-rendered Jinja2 and a few lines
of plain JavaScript, no build step, nothing fetched from elsewhere.

- session.py: sign-in session (cookie), idle limit, CSRF token;
- pages.py: what the console reads (我的待办, lists, one petition, the 督查 board);
- forms.py: what it posts (actions, 签收, 登记, 交办, appointments);
- reports.py: the bureau's reports (报表) with their charts (charts.py);
- view.py: labels, countdowns and the actions offered now; render.py: the templates;
- i18n.py: zh-CN, or English where a person picks it (gettext catalogs, a cookie)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.console import forms, pages, reports
from api.console.i18n import LanguageMiddleware
from api.console.i18n import gettext as _
from api.console.render import page
from api.console.session import BadCsrf, SignInFirst
from api.console.view import refusal_in_words
from api.errors import ServiceError, answer_service_error

STATIC = Path(__file__).parent / "static"
# Static files change only with a release: a day in the browser's cache, revalidated after.
CACHE = "public, max-age=86400"


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        answer = await super().get_response(path, scope)
        if answer.status_code == 200:
            answer.headers["Cache-Control"] = CACHE
        return answer


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = "&expired=true" if exc.expired else ""
    answer = RedirectResponse(f"/login?next={quote(target)}{expired}", status_code=303)
    answer.delete_cookie("pf_console", path="/")
    return answer


async def _bad_csrf(request: Request, exc: Exception) -> HTMLResponse:
    message = _("表单缺少有效的安全令牌（CSRF），未予办理。请刷新页面后重新提交。")
    return page(request, "error.html.j2", None, status_code=403, message=message)


async def _refused(request: Request, exc: Exception) -> Response:
    """A refusal of the service layer: JSON under /api/, a page in words on the console."""
    assert isinstance(exc, ServiceError)
    if request.url.path.startswith("/api/"):
        return await answer_service_error(request, exc)
    user = getattr(request.state, "principal", None)
    message = refusal_in_words(exc.status, exc.detail)
    return page(request, "error.html.j2", user, status_code=exc.status, message=message)


def install(app: FastAPI) -> None:
    """The console's routes, its static files and its refusals as pages (sign in first, a
    form without its token, what the service layer refused): after ``answer_in_json``."""
    app.add_middleware(LanguageMiddleware)  # the pages' language, from its cookie
    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(forms.router)
    app.include_router(reports.router)
    app.add_exception_handler(SignInFirst, _sign_in_first)
    app.add_exception_handler(BadCsrf, _bad_csrf)
    app.add_exception_handler(ServiceError, _refused)
