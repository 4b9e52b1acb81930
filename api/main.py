"""The FastAPI application factory: ``uvicorn --factory api.main:create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from api import audit, auth, metrics
from api.deps import Services
from api.errors import answer_in_json
from api.routers import codec, directory, petitions, units
from core.database import prepare_store
from core.settings import Settings, get_settings
from store.db import dispose

log = logging.getLogger("petitionflow.api")

DESCRIPTION = """
petitionflow: every petition (信访事项) is a durable workflow that climbs the chain of
"三周工作法" by itself — case handler, supervising leader, unit head, county contact leader —
until it is completed (办结) or overdue (逾期).

Sign in at `POST /api/v1/auth/token` (OAuth2 password form) and send the access token as
`Authorization: Bearer …`; integrations send `X-API-Key`. Without either every endpoint but
the health check answers **401**; an action outside one's posts **403**; a petition outside
one's units **404**, as if it did not exist.

Refused actions answer **409** with the reason; unknown petitions **404**; invalid bodies **422**
naming the field; **503** when the workflow engine or the database cannot be reached.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.policy_book()  # an invalid policy book stops the start, with the reason
        sessions = await prepare_store(settings)
        try:
            async with sessions() as session:
                await auth.prepare_accounts(settings, session)
        except BaseException:
            await dispose(sessions)
            raise
        app.state.services = Services(settings=settings, sessions=sessions)
        async with audit.ReadTrail(sessions).running() as app.state.read_trail:
            yield
        await dispose(sessions)

    app = FastAPI(
        title="petitionflow",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    # Every endpoint but the health check, sign-in and the API docs needs a signed-in user.
    signed_in = [Depends(auth.current_principal)]
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(units.router, prefix="/api/v1", dependencies=signed_in)
    app.include_router(directory.router, prefix="/api/v1", dependencies=signed_in)
    app.include_router(audit.router, prefix="/api/v1", dependencies=signed_in)
    app.add_middleware(audit.AuditMiddleware)
    app.include_router(petitions.router, prefix="/api/v1", dependencies=signed_in)
    # Signed in per route: the browser's CORS preflight carries no credentials.
    app.include_router(codec.router, prefix="/api/v1")
    metrics.install(app)  # after the audit middleware: outside it, timing it too

    answer_in_json(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(status_code=503, content={"detail": "database unavailable, retry"})

    return app
