"""Dependencies shared by the routers: settings, database sessions and the Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.errors import Unavailable
from core.settings import Settings
from core.temporal import connect
from store.db import readers


@dataclass
class Services:
    """What the lifespan builds once and every request shares."""

    settings: Settings
    sessions: async_sessionmaker[Any]
    client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Sessions for requests that only read (GET): on SQLite they never wait for a writer.
    readers: async_sessionmaker[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = readers(self.sessions)

    async def temporal(self) -> Client:
        """Connect on first use: the API starts (and serves reads) while Temporal is down."""
        if self.client is None:
            async with self._lock:
                if self.client is None:
                    try:
                        self.client = await connect(self.settings)
                    except RuntimeError as exc:  # the SDK's "failed client connect"
                        raise Unavailable(
                            f"workflow engine unavailable at {self.settings.temporal_address}"
                        ) from exc
        return self.client


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


READS = frozenset({"GET", "HEAD"})

# Endpoints that change something without writing it themselves: an action on a petition reads
# who asks and the case, and hands the action to the petition's workflow, which writes. A read
# session spares them SQLite's write lock, which they held (from the sign-in check on) while
# the worker's projections waited, and waited for behind them (``reads_only``).
_READS_ONLY: set[Any] = set()


def reads_only(endpoint: Any) -> Any:
    """Mark ``endpoint`` as writing nothing through its request's session."""
    _READS_ONLY.add(endpoint)
    return endpoint


async def get_session(request: Request, services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """A read session for a read (no request by GET writes) and for an endpoint marked
    ``reads_only``; a writing one otherwise."""
    reading = request.method in READS or request.scope.get("endpoint") in _READS_ONLY
    sessions = services.readers if reading else services.sessions
    async with sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
