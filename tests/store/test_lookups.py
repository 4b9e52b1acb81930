"""``store.db.lookups``: the worker's lookups (who holds a post now, the outbox's poll) read
without a transaction of their own on PostgreSQL, and never wait for a writer."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.contracts import RoleLookup
from domain.vocabulary import Role
from store import directory
from store.db import lookups, readers
from store.models import Petition

# A transaction's id: the same for two statements of one transaction, another for each
# statement that runs alone.
XID = text("SELECT txid_current()")


async def test_a_lookup_on_postgresql_sends_no_begin_around_its_statements(
    sessions: async_sessionmaker[Any],
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        assert lookups(sessions).kw["bind"].get_execution_options() == (
            readers(sessions).kw["bind"].get_execution_options()
        )  # on SQLite a lookup is a reader: deferred, no write lock
        return
    async with lookups(sessions)() as session:
        assert await session.scalar(XID) != await session.scalar(XID)  # each on its own
        holder = await directory.post_holder(
            session, RoleLookup(petition_id="XF-1", unit_id="dongguan", role=Role.HANDLER)
        )
        assert holder.unit_id == "dongguan"
    async with readers(sessions)() as session:  # a reader's snapshot: one transaction
        assert await session.scalar(XID) == await session.scalar(XID)


async def test_a_lookup_reads_while_a_writer_holds_its_lock(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as writer:
        # The writer's lock: SQLite's write lock (BEGIN IMMEDIATE), a table lock here.
        if sessions.kw["bind"].dialect.name == "postgresql":
            await writer.execute(text("LOCK TABLE petitions IN EXCLUSIVE MODE"))
        else:
            await writer.execute(text("UPDATE units SET name = name WHERE id = 'dongguan'"))
        async with lookups(sessions)() as session:
            counted = await asyncio.wait_for(
                session.scalar(select(func.count()).select_from(Petition)), timeout=5
            )
        assert counted == 0
        await writer.rollback()
