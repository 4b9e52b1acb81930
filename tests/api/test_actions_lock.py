"""An action on a petition writes nothing itself (its workflow does): it answers while the
store's writers wait, and never makes them wait (api.deps.reads_only)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from domain.vocabulary import Stage
from store.db import make_engine
from tests.helpers.api import V1, ApiFactory, detail, register
from tests.helpers.waiting import eventually
from workflows.petition import PetitionWorkflow


async def test_an_action_is_applied_while_another_writer_holds_the_lock(
    api: ApiFactory, store_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with api() as http:
        pid = (await register(http))["id"]
        await eventually(lambda: detail(http, pid), lambda d: len(d["timeline"]) >= 2)
        other = make_engine(store_url)  # another process writing, as the worker's steps do
        try:
            async with other.connect() as writer:
                await writer.begin()  # on SQLite BEGIN IMMEDIATE: the database's write lock
                if other.dialect.name == "postgresql":  # writes wait, reads do not
                    await writer.execute(text("LOCK TABLE petitions IN EXCLUSIVE MODE"))
                await writer.execute(
                    text("UPDATE petitions SET updated_at = updated_at WHERE id = :id"),
                    {"id": pid},
                )
                # Applied by the workflow while the lock is held. Before, the sign-in check
                # waited for the lock (SQLite's 30 s busy timeout), as every action did behind
                # a busy worker. (The answer itself comes once the audit row is written, here
                # in-process after the lock is free; a real server sends it first.)
                accepting = asyncio.create_task(http.post(f"{V1}/petitions/{pid}/accept"))
                # The update sets the stage; the handler is named moments later, once its
                # lookup (a read, which the lock does not hold up) has answered: a query can
                # fall between the two, so both are waited for.
                workflow = dev_env.client.get_workflow_handle(pid)
                await eventually(
                    lambda: workflow.query(PetitionWorkflow.state),
                    lambda state: state.stage == Stage.HANDLING and state.accountable is not None,
                    timeout=10,
                )
                await writer.rollback()
            accepted = await accepting
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["stage"] == "handling"
        finally:
            await other.dispose()
        # What the acceptance leads to is written once the lock is free.
        await eventually(lambda: detail(http, pid), lambda d: d["stage"] == "handling")
