"""The FastAPI application factory: ``uvicorn --factory api.main:create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import audit, auth, console, metrics
from api.deps import Services
from api.errors import DATABASE_UNREACHABLE, answer_in_json
from api.routers import (
    codec,
    contacts,
    directory,
    documents,
    keys,
    notices,
    petitions,
    report_inbox,
    reports,
    units,
)
from core.database import prepare_store
from core.heap import freeze_startup
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
        freeze_startup()  # after the start's allocations: see core/heap.py
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
    app.include_router(keys.router, prefix="/api/v1")
    # The directory is read by people only: an integration's service account reads nothing.
    app.include_router(units.router, prefix="/api/v1", dependencies=[auth.reader])
    app.include_router(directory.router, prefix="/api/v1", dependencies=[auth.reader])
    app.include_router(contacts.router, prefix="/api/v1", dependencies=[auth.reader])
    app.include_router(audit.router, prefix="/api/v1", dependencies=signed_in)
    app.add_middleware(audit.AuditMiddleware)
    app.include_router(petitions.router, prefix="/api/v1", dependencies=signed_in)
    app.include_router(notices.router, prefix="/api/v1", dependencies=[auth.reader])
    app.include_router(report_inbox.router, prefix="/api/v1", dependencies=[auth.reader])
    app.include_router(documents.router, prefix="/api/v1", dependencies=signed_in)
    app.include_router(reports.router, prefix="/api/v1", dependencies=signed_in)
    # Signed in per route: the browser's CORS preflight carries no credentials.
    app.include_router(codec.router, prefix="/api/v1")
    metrics.install(app)  # after the audit middleware: outside it, timing it too

    answer_in_json(app)
    console.install(app)  # the web console under /, after the JSON front's error answers

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers. It touches nothing, so a restart is never ordered
        for an outage of the database or Temporal (that is /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the database and Temporal answer now (503 naming what does not), so a
        load balancer sends requests elsewhere meanwhile."""
        checks = await readiness(request.app.state.services)
        ready = all(state == "ok" for state in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", **checks},
            status_code=200 if ready else 503,
        )

    for unreachable in DATABASE_UNREACHABLE:
        app.add_exception_handler(unreachable, database_unavailable)
    return app


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503, never 500: the client retries; the log says why, without the statement's values."""
    log.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
    return JSONResponse(status_code=503, content={"detail": "database unavailable, retry"})


async def readiness(services: Services) -> dict[str, str]:
    """Each dependency's state: "ok", or why not."""
    checks = {"database": "ok", "temporal": "ok"}
    try:
        async with services.readers() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # whatever it fails with, the answer is "not ready", and why
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        client = await services.temporal()
        await client.service_client.check_health(timeout=timedelta(seconds=5))
    except Exception as exc:  # unreachable, refusing, or not serving: not ready either way
        checks["temporal"] = f"unreachable ({type(exc).__name__})"
    return checks
