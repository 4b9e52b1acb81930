"""The FastAPI application factory: ``uvicorn --factory api.main:create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from api import audit
from api.deps import Services
from api.routers import petitions, units
from store.db import dispose
from worker.runtime import prepare_store
from worker.settings import Settings, get_settings

log = logging.getLogger("petitionflow.api")

DESCRIPTION = """
petitionflow: every petition (信访事项) is a durable workflow that climbs the chain of
"三周工作法" by itself — case handler, supervising leader, unit head, county contact leader —
until it is completed (办结) or overdue (逾期).

Refused actions answer **409** with the reason; unknown petitions **404**; invalid bodies **422**
naming the field; **503** when the workflow engine or the database cannot be reached.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.policy_book()  # an invalid policy book stops the start, with the reason
        sessions = await prepare_store(settings)
        app.state.services = Services(settings=settings, sessions=sessions)
        yield
        await dispose(sessions)

    app = FastAPI(
        title="petitionflow",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.include_router(units.router, prefix="/api/v1")
    app.include_router(audit.router, prefix="/api/v1")
    app.add_middleware(audit.AuditMiddleware)
    app.include_router(petitions.router, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(status_code=503, content={"detail": "database unavailable, retry"})

    return app
