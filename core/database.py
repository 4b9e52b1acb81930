"""Preparing the read model's database at start: shared by the API, the worker and the
operators' commands, so that all of them migrate and seed it the same way."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from core.settings import Settings
from store import directory
from store.db import make_engine, make_sessionmaker, migrate

log = logging.getLogger("petitionflow.store")


async def prepare_store(settings: Settings) -> async_sessionmaker[Any]:
    """Create the schema and load the demo directory on first start; return a session factory."""
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    await migrate(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        if await directory.load_directory_if_empty(session, settings.directory_file):
            log.info("org directory loaded from %s", settings.directory_file)
    return sessions
