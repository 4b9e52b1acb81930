"""The sign-in throttle (登录限流): each attempt is counted, atomically and before its password
is verified, against the username, the client's address and everyone together, so neither
guessing one account's password at speed nor spraying one guess over the people list works."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from store import accounts

log = logging.getLogger("petitionflow.auth")


async def count_attempt(
    request: Request, session: AsyncSession, settings: Settings, username: str
) -> list[str]:
    """Count this attempt against the username, the client's address and everyone, before
    the password is verified and committed at once: of 40 wrong passwords sent together no
    more than the limit are verified. 429 past any limit; returns the scopes counted."""
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.sign_in_window_minutes)
    client = request.client.host if request.client else "unknown"
    limits = [
        (f"user:{username}", settings.sign_in_max_failures, f"for {username}"),
        (f"client:{client}", settings.sign_in_client_max_failures, "from this address"),
        ("all", settings.sign_in_global_max_failures, "of all accounts"),
    ]
    counts = [
        await accounts.count_sign_in(session, scope, now, now - window) for scope, *_ in limits
    ]
    await session.commit()
    for count, (_, limit, whose) in zip(counts, limits, strict=True):
        if count > limit:
            if whose != limits[0][2]:
                log.warning("sign-in throttled %s (%s): password spraying?", whose, client)
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed sign-ins {whose}: try again in "
                f"{settings.sign_in_window_minutes} minutes",
                headers={"Retry-After": str(int(window.total_seconds()))},
            )
    return [scope for scope, *_ in limits]
