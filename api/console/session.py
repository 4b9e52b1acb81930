"""The console's sign-in session (登录会话): a signed, HttpOnly cookie naming the person and a
server-side record of the session, with the API's rules — its sign-in check and throttle, the
15-minute idle limit (the access token's lifetime), the session's hard limit, a password change
ending it — and the CSRF token every form carries (a synchronizer token held in the session).

The server-side record is a row of the refresh-token table (used = ended): a sign-out, or a
password change (which ends every refresh token of the person), ends the console's session too,
with no table of its own."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request, Response

from api.auth import ALGORITHM, ISSUER, principal_of, signs_in
from api.deps import ServicesDep, SessionDep
from core.settings import Settings
from domain.access import Principal
from store import accounts
from store.models import Person

COOKIE = "pf_console"
LOGIN_COOKIE = "pf_login"  # the sign-in form's own CSRF token, before there is a session
VIA = "console"  # how they signed in, on the audit trail
# The cookie's idle clock is moved on at most this often: not a new cookie on every page.
REFRESH_AFTER = timedelta(seconds=60)


class SignInFirst(Exception):
    """No session, an ended one, or one idle too long: the console answers with the sign-in
    page (``expired``: say why)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("sign in first")
        self.expired = expired


class BadCsrf(Exception):
    """A form posted without the session's CSRF token (or with another): refused, 403."""


def _secret(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def _record(settings: Settings, sid: str) -> str:
    """The session record's key: keyed by the server's secret, so the session id a cookie
    carries (readable, though signed) cannot be redeemed at /auth/refresh for API tokens."""
    mac = hmac.new(_secret(settings).encode(), sid.encode(), "sha256").hexdigest()
    return f"console:{mac}"


def _cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    # Secure outside dev mode: a county's console is served over TLS; the local stack is
    # plain http on 127.0.0.1.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=not settings.dev_mode,
        path="/",
    )


def _encode(settings: Settings, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, _secret(settings), algorithm=ALGORITHM)


async def start(
    response: Response, session: SessionDep, settings: Settings, person: Person
) -> None:
    """A new session for ``person``: its record, and the cookie naming it."""
    now = datetime.now(UTC)
    sid = secrets.token_urlsafe(32)
    end = now + timedelta(hours=settings.session_max_hours)
    await accounts.add_refresh_token(session, _record(settings, sid), person.id, now, end, now)
    await session.commit()
    claims = {
        "sub": person.id,
        "iss": ISSUER,
        "typ": VIA,
        "sid": sid,
        "csrf": secrets.token_urlsafe(24),
        "iat_us": int(now.timestamp() * 1_000_000),
        "end": int(end.timestamp()),
        "seen": int(now.timestamp()),
    }
    _idle_cookie(response, settings, claims)


def _idle_cookie(response: Response, settings: Settings, claims: dict[str, Any]) -> None:
    _cookie(
        response, settings, COOKIE, _encode(settings, claims), settings.access_token_minutes * 60
    )


def _claims(request: Request, settings: Settings) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            raw, _secret(settings), algorithms=[ALGORITHM], issuer=ISSUER
        )
    except jwt.InvalidTokenError:
        return None
    return claims if claims.get("typ") == VIA else None


async def end(
    request: Request, response: Response, session: SessionDep, settings: Settings
) -> None:
    """Sign-out: the session's record is ended and the cookie cleared."""
    claims = _claims(request, settings)
    if claims is not None:
        await accounts.claim_refresh_token(
            session, _record(settings, claims["sid"]), datetime.now(UTC)
        )
        await session.commit()
    response.delete_cookie(COOKIE, path="/")


async def current_user(
    request: Request, response: Response, session: SessionDep, services: ServicesDep
) -> Principal:
    """The signed-in person of the console, their posts read from the directory now (as the
    API reads them at every request); SignInFirst otherwise."""
    settings = services.settings
    request.state.console = True  # the audit trail records the console's commands too
    claims = _claims(request, settings)
    if claims is None:
        raise SignInFirst()
    now = datetime.now(UTC)
    seen = datetime.fromtimestamp(int(claims["seen"]), UTC)
    idle = timedelta(minutes=settings.access_token_minutes)
    if now - seen > idle or now.timestamp() >= int(claims["end"]):
        raise SignInFirst(expired=True)
    row = await accounts.refresh_token(session, _record(settings, claims["sid"]))
    person, posts = await accounts.with_posts(session, str(claims["sub"]))
    if row is None or row.used_at is not None or not signs_in(person) or person is None:
        raise SignInFirst(expired=True)
    changed = person.password_changed_at
    if changed is not None and int(claims["iat_us"]) < int(changed.timestamp() * 1_000_000):
        raise SignInFirst(expired=True)
    principal = await principal_of(session, person, VIA, posts)
    request.state.principal = principal
    request.state.credential = (VIA, None, None)
    request.state.csrf = claims["csrf"]
    if now - seen > REFRESH_AFTER:  # the idle clock starts again from this request
        _idle_cookie(response, settings, {**claims, "seen": int(now.timestamp())})
    return principal


ConsoleUser = Annotated[Principal, Depends(current_user)]


def check_csrf(request: Request, token: str | None) -> None:
    """The form's token must be the session's (a page of another site cannot read it)."""
    expected = getattr(request.state, "csrf", None)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise BadCsrf()


def login_token(request: Request, response: Response, settings: Settings) -> str:
    """The sign-in form's CSRF token (double submit: a cookie and the form's field)."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    _cookie(response, settings, LOGIN_COOKIE, token, 3600)
    return token


def check_login_token(request: Request, token: str | None) -> None:
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise BadCsrf()
