"""Sign-in (登录): the OAuth2 password flow issuing short-lived JWT bearer tokens, refresh tokens
good once each, and API keys for system integrations (系统对接), each acting as a service account
(服务账号), never as a person. Every other endpoint but the health check and the API docs
depends on ``current_principal``; what each may then do is ``domain.access``.

Roles are not written into tokens: they are read from the directory at every request, so a
post change (a leader replaced, an account's posts ended) takes effect at once."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer, OAuth2PasswordRequestForm

from api.deps import ServicesDep, SessionDep
from api.errors import require, require_reader
from api.schemas import (
    MePublic,
    PostPublic,
    RefreshIn,
    TokenPublic,
)
from api.throttle import count_attempt
from core.passwords import hash_public_password, passwords
from core.settings import DEV_PASSWORD, Settings
from domain.access import Action, Principal
from domain.vocabulary import Role
from store import accounts
from store.models import Person, RefreshToken

log = logging.getLogger("petitionflow.auth")

ISSUER = "petitionflow"
ALGORITHM = "HS256"
TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a path, not a password)
ISSUED_US = "iat_us"  # the issue time in microseconds ("iat" has whole seconds)

bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an integration's API key (pf_…)"
)
router = APIRouter(prefix="/auth", tags=["sign-in"])
# A key issued before service accounts existed acts as a person (a dispatcher's key acted as
# that dispatcher): refused at its use, saying what to do instead (migration 0010).
PERSON_KEY = (
    "this API key acts as a person; keys now belong to integrations' service accounts "
    "(服务账号): have a new one issued for a service account and revoke this one"
)


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a wrong username costs as long as a
    # wrong password and the timing does not tell which usernames exist.
    return passwords.hash(secrets.token_urlsafe(16))


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


async def principal_of(
    session: SessionDep, person: Person, via: str, posts: list[tuple[str, str]] | None = None
) -> Principal:
    """Who ``person`` is to the API, signed in ``via``; ``posts`` when read with them
    (``accounts.with_posts``), else read here."""
    if person.service_role is not None:
        # Its own role is all a service account holds: no post counts, whatever the table says.
        return Principal(
            person_id=person.id,
            username=person.username or person.id,
            name=person.name,
            posts=frozenset(),
            via=via,
            service_role=Role(person.service_role),
        )
    if posts is None:
        posts = await accounts.posts_of(session, person.id)
    return Principal(
        person_id=person.id,
        username=person.username or person.id,
        name=person.name,
        posts=frozenset((unit, Role(role)) for unit, role in posts),
        via=via,
    )


def _decode(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("the access token has expired: refresh it or sign in again") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid access token ({exc})") from exc
    if claims.get("typ") != "access":
        raise _unauthorized("not an access token")
    return claims


async def current_principal(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    token: Annotated[str | None, Depends(bearer)],
    key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """The signed-in person, from a bearer token or an API key; 401 otherwise. Recorded in the
    request's state for the audit trail."""
    if key:
        row = await accounts.api_key(session, key)
        person, posts = await accounts.with_posts(session, row.person_id) if row else (None, [])
        if row is None or person is None:
            raise _unauthorized("unknown or revoked API key")
        # The audit trail names the key and who issued it beside every use, refused ones too.
        request.state.credential = ("api_key", row.id, row.issued_by)
        if person.service_role is None:
            raise _unauthorized(PERSON_KEY)
        principal = await principal_of(session, person, "api_key", posts)
    elif token:
        claims = _decode(services.settings, token)
        person, posts = await accounts.with_posts(session, str(claims["sub"]))
        if not signs_in(person):
            raise _unauthorized("the account of this token no longer exists")
        assert person is not None  # for mypy: signs_in said so
        changed = person.password_changed_at
        issued_us = claims.get(ISSUED_US, int(claims["iat"]) * 1_000_000)
        if changed is not None and issued_us < int(changed.timestamp() * 1_000_000):
            raise _unauthorized("the password has changed since this token was issued: sign in")
        principal = await principal_of(session, person, "password", posts)
        request.state.credential = ("password", None, None)
    else:
        raise _unauthorized(f"sign in first: POST {TOKEN_URL}, then send Authorization: Bearer")
    request.state.principal = principal
    return principal


def signs_in(person: Person | None) -> bool:
    """A person with a username and a password; a service account never signs in."""
    return (
        person is not None
        and person.password_hash is not None
        and person.username is not None
        and person.service_role is None
    )


CurrentUser = Annotated[Principal, Depends(current_principal)]


def _allowed(action: Action) -> Any:
    def check(principal: CurrentUser) -> Principal:
        require(principal, action)
        return principal

    return Depends(check)


DirectoryAdmin = Annotated[Principal, _allowed(Action.ADMINISTER_DIRECTORY)]
Auditor = Annotated[Principal, _allowed(Action.READ_AUDIT)]


def _reading(principal: CurrentUser) -> Principal:
    require_reader(principal)
    return principal


# Reading petitions and the directory: every person, no integration's service account.
reader = Depends(_reading)
Reader = Annotated[Principal, reader]


async def _issue(
    session: SessionDep, settings: Settings, person: Person, started: datetime
) -> TokenPublic:
    """A token pair of the session signed in at ``started``: neither outlives
    ``session_max_hours`` from then, however often it is refreshed."""
    now = datetime.now(UTC)
    issued = int(now.timestamp())
    end = started + timedelta(hours=settings.session_max_hours)
    expires = min(issued + settings.access_token_minutes * 60, int(end.timestamp()))
    lifetime = expires - issued
    access = jwt.encode(
        {
            "sub": person.id,
            "iss": ISSUER,
            "iat": issued,
            # To the microsecond: a token issued a moment before a password change is refused.
            ISSUED_US: int(now.timestamp() * 1_000_000),
            "auth_time": int(started.timestamp()),
            "exp": expires,
            "typ": "access",
            "jti": secrets.token_hex(8),
        },
        settings.secret_key.get_secret_value(),
        algorithm=ALGORITHM,
    )
    refresh = secrets.token_urlsafe(32)
    await accounts.add_refresh_token(
        session,
        refresh,
        person.id,
        now,
        min(now + timedelta(hours=settings.refresh_token_hours), end),
        started,
    )
    await session.commit()
    return TokenPublic(access_token=access, expires_in=lifetime, refresh_token=refresh)


@router.post(
    "/token",
    response_model=TokenPublic,
    responses={
        401: {"description": "wrong username or password"},
        429: {
            "description": "too many failed sign-ins lately (this username, this address, "
            "or everyone's)"
        },
    },
)
async def sign_in(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    services: ServicesDep,
) -> TokenPublic:
    """OAuth2 password flow: a username and password for an access token (a JWT, short-lived)
    and a refresh token. In dev mode the demo county's users have the password ``demo``.
    After ``PETITIONFLOW_SIGN_IN_MAX_FAILURES`` wrong passwords within the window the username
    is refused for a while (429), so passwords cannot be guessed at speed; so is a client
    address, and everyone, past their own limits (one guess at many usernames)."""
    request.state.credential = ("password", None, None)
    person = await check_password(request, session, services.settings, form.username, form.password)
    return await _issue(session, services.settings, person, datetime.now(UTC))


async def check_password(
    request: Request, session: SessionDep, settings: Settings, username: str, password: str
) -> Person:
    """The person signing in with ``username`` and ``password``, counted against the sign-in
    throttle (429 past it) and refused alike (401) for an unknown name or a wrong password:
    the one check of the JSON sign-in and the console's."""
    request.state.actor = username[:64]  # the audit trail names who tried, and how
    person = await accounts.by_username(session, username)
    # Committed before verifying: no transaction (on SQLite, no write lock) waits on Argon2.
    scopes = await count_attempt(request, session, settings, username[:64])
    stored = person.password_hash if signs_in(person) and person else None
    # Argon2 is slow on purpose: off the event loop, so other requests do not wait on it.
    valid = await asyncio.to_thread(passwords.verify, password, stored or await _dummy())
    if person is None or stored is None or not valid:
        raise _unauthorized("wrong username or password")
    await accounts.give_back_sign_in(session, scopes)  # a success is no failure
    return person


async def _dummy() -> str:
    return await asyncio.to_thread(_dummy_hash)


@router.post(
    "/refresh",
    response_model=TokenPublic,
    responses={401: {"description": "unknown, expired or already used refresh token"}},
)
async def refresh(body: RefreshIn, session: SessionDep, services: ServicesDep) -> TokenPublic:
    """A new token pair for a refresh token. Each refresh token is good once; presenting a used
    one again (a stolen copy) ends every session of its person."""
    now = datetime.now(UTC)
    row = await accounts.refresh_token(session, body.refresh_token)
    if row is None or row.expires_at <= now:
        raise _unauthorized("unknown or expired refresh token: sign in again")
    if row.used_at is not None or not await accounts.claim_refresh_token(
        session, body.refresh_token, now
    ):
        await accounts.revoke_refresh_tokens(session, row.person_id, now)
        await session.commit()
        log.warning("a used refresh token was presented again; sessions of %s ended", row.person_id)
        raise _unauthorized("refresh token already used: every session was ended, sign in again")
    person = await session.get(Person, row.person_id)
    if not signs_in(person) or person is None:
        raise _unauthorized("the account of this token no longer exists")
    started = _session_start(row)
    if now >= started + timedelta(hours=services.settings.session_max_hours):
        await session.commit()  # the token stays used
        raise _unauthorized("the session has reached its time limit: sign in again")
    return await _issue(session, services.settings, person, started)


def _session_start(row: RefreshToken) -> datetime:
    return row.session_started_at or row.issued_at


@router.get("/me", response_model=MePublic)
async def me(principal: CurrentUser) -> MePublic:
    """Who the token belongs to, their posts and the units they act on."""
    return MePublic(
        person_id=principal.person_id,
        username=principal.username,
        name=principal.name,
        role=principal.role,
        posts=[PostPublic(unit_id=u, role=r) for u, r in sorted(principal.posts)],
        reads_all=principal.reads_all,
        units=sorted(principal.chain_units),
        via=principal.via,
    )


async def prepare_accounts(settings: Settings, session: SessionDep) -> None:
    """At start: in dev mode, give the demo accounts the password ``demo``; outside dev mode,
    refuse to start with a default secret or a default password."""
    if settings.dev_mode:
        count = await accounts.seed_dev_passwords(
            session, lambda: hash_public_password(DEV_PASSWORD)
        )
        if count:
            log.warning("dev mode: %d accounts have the password %r", count, DEV_PASSWORD)
        return
    problems = settings.insecure_settings()
    left = await accounts.default_password_accounts(session)
    if left:
        more = f" and {len(left) - 10} more" if len(left) > 10 else ""
        problems.append(
            f"{len(left)} accounts still have the default password "
            f"({', '.join(left[:10])}{more}): set theirs with `python -m worker.accounts`"
        )
    if problems:
        raise RuntimeError(
            "refusing to start outside dev mode: "
            + "; ".join(problems)
            + " (set PETITIONFLOW_DEV_MODE=true for a trial on this machine)"
        )
