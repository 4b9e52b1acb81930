"""Accounts: who a username, an API key or a refresh token belongs to, and their posts now;
integrations' service accounts (服务账号), the only accounts API keys act as.

Secrets are never stored: passwords as Argon2 hashes (made by the caller), API keys and refresh
tokens as SHA-256 (they are long random strings, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiKey, Person, Post, RefreshToken, SignInCounter, UTCDateTime


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def by_username(session: AsyncSession, username: str) -> Person | None:
    person: Person | None = await session.scalar(select(Person).where(Person.username == username))
    return person


async def with_posts(
    session: AsyncSession, person_id: str
) -> tuple[Person | None, list[tuple[str, str]]]:
    """A person and the posts (unit, role) they hold, in one round trip: every request to the
    API and the console reads both, to know who asks and what they may do now."""
    rows = (
        await session.execute(
            select(Person, Post.unit_id, Post.role)
            .outerjoin(Post, Post.person_id == Person.id)
            .where(Person.id == person_id)
            .order_by(Post.id)
        )
    ).all()
    if not rows:
        return None, []
    return rows[0][0], [(unit, role) for _, unit, role in rows if unit is not None]


async def posts_of(session: AsyncSession, person_id: str) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Post.unit_id, Post.role).where(Post.person_id == person_id).order_by(Post.id)
    )
    return [(unit, role) for unit, role in rows]


async def seed_dev_passwords(session: AsyncSession, make_hash: Callable[[], str]) -> int:
    """Dev mode: every account without a password gets the demo one (marked as default, so a
    production start refuses while any is left). ``make_hash`` is called only when some account
    needs it: an Argon2 hash is slow on purpose, and most starts find every account set.
    Returns how many were set."""
    needing = (
        Person.username.is_not(None)
        & Person.password_hash.is_(None)
        & Person.service_role.is_(None)  # a service account never signs in
    )
    if not await session.scalar(select(func.count()).select_from(Person).where(needing)):
        return 0
    result = await session.execute(
        update(Person).where(needing).values(password_hash=make_hash(), default_password=True)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def default_password_accounts(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Person.username).where(Person.default_password.is_(True)).order_by(Person.username)
    )
    return [u for u in rows if u]


async def set_password(session: AsyncSession, person: Person, password_hash: str) -> None:
    now = datetime.now(UTC)
    person.password_hash = password_hash
    person.default_password = False
    # A new password ends every session of the old one: its refresh tokens now, its access
    # tokens by their issue time (the sign-in check compares it with this moment).
    person.password_changed_at = now
    await revoke_refresh_tokens(session, person.id, now)


async def add_refresh_token(
    session: AsyncSession,
    token: str,
    person_id: str,
    issued_at: datetime,
    expires_at: datetime,
    session_started_at: datetime,
) -> None:
    session.add(
        RefreshToken(
            token_hash=digest(token),
            person_id=person_id,
            issued_at=issued_at,
            expires_at=expires_at,
            session_started_at=session_started_at,
        )
    )


async def refresh_token(session: AsyncSession, token: str) -> RefreshToken | None:
    return await session.get(RefreshToken, digest(token))


async def claim_refresh_token(session: AsyncSession, token: str, now: datetime) -> bool:
    """Mark the token used, atomically: of two requests racing with one token, one wins."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == digest(token), RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def revoke_refresh_tokens(session: AsyncSession, person_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.person_id == person_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )


SERVICE_ACCOUNT_TITLE = "系统对接账号"
API_KEY_PREFIX = "pf_"


class NotServiceAccount(ValueError):
    """An API key asked for an account that is not a service account (a person, or nobody)."""


async def create_service_account(
    session: AsyncSession, account_id: str, name: str, role: str
) -> Person:
    """A service account (服务账号) of an integration: a directory entry that is no person, with
    its own ``role``, no post, no username and no password. ValueError when the id is taken."""
    if await session.get(Person, account_id) is not None:
        raise ValueError(f"{account_id!r} exists already in the directory")
    account = Person(
        id=account_id, name=name, title=SERVICE_ACCOUNT_TITLE, service_role=role, username=None
    )
    session.add(account)
    await session.flush()
    return account


async def api_key(session: AsyncSession, key: str) -> ApiKey | None:
    found: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == digest(key), ApiKey.revoked_at.is_(None))
    )
    return found


async def issue_api_key(
    session: AsyncSession, account_id: str, name: str, issued_by: str
) -> tuple[ApiKey, str]:
    """A new API key of the service account ``account_id``, and the key itself (shown once,
    only its hash is kept). NotServiceAccount, saying why, for anyone else: a key acting in a
    person's name would let whoever holds it act as that person."""
    account = await session.get(Person, account_id)
    if account is None:
        raise NotServiceAccount(f"no service account {account_id!r}")
    if account.service_role is None:
        raise NotServiceAccount(
            f"{account_id} is a person: API keys are issued to integrations' service accounts "
            "(服务账号) only, never to act in a person's name; an operator creates one with "
            "`python -m worker.accounts add-service-account`"
        )
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return await add_api_key(session, key, name, account_id, datetime.now(UTC), issued_by), key


async def add_api_key(
    session: AsyncSession, key: str, name: str, person_id: str, now: datetime, issued_by: str
) -> ApiKey:
    row = ApiKey(
        key_hash=digest(key),
        prefix=key[:12],
        name=name,
        person_id=person_id,
        created_at=now,
        issued_by=issued_by,
    )
    session.add(row)
    await session.flush()
    return row


async def api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.id)))


async def count_sign_in(session: AsyncSession, scope: str, now: datetime, since: datetime) -> int:
    """Count one sign-in attempt of ``scope`` in its window (a new window when the last one
    began before ``since``) and return the count, in one statement: of many attempts at once
    each sees its own number, so no more than the limit get to verify a password."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stale = SignInCounter.window_start < since
    values = insert(SignInCounter).values(scope=scope[:200], window_start=now, count=1)
    statement = values.on_conflict_do_update(
        index_elements=[SignInCounter.scope],
        set_={
            "count": case((stale, 1), else_=SignInCounter.count + 1),
            "window_start": case(
                (stale, literal(now, UTCDateTime())), else_=SignInCounter.window_start
            ),
        },
    ).returning(SignInCounter.count)
    return int((await session.execute(statement)).scalar_one())


async def give_back_sign_in(session: AsyncSession, scopes: list[str]) -> None:
    """A sign-in that succeeded is no failure: its attempt is taken off each scope's count."""
    await session.execute(
        update(SignInCounter)
        .where(SignInCounter.scope.in_([s[:200] for s in scopes]), SignInCounter.count > 0)
        .values(count=SignInCounter.count - 1)
    )
