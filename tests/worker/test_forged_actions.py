"""Forged actions: whoever reaches Temporal's frontend without the payload key (the real
``temporal`` CLI, as an attacker would use it) can neither act as an officer nor start a
petition. A real dev server, the real worker."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from domain.contracts import ExtensionRequest
from store import petitions
from store.db import dispose
from tests.helpers.county import DONGGUAN_HEAD
from tests.helpers.settings import binary, make_settings
from tests.helpers.store import Templates, open_store
from tests.helpers.temporal import temporal_address, worker_for
from tests.helpers.waiting import eventually
from tests.helpers.workflows import start_case
from workflows.petition import PetitionWorkflow


async def cli(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a thread: the worker shares this event loop and must answer meanwhile."""
    return await asyncio.to_thread(
        subprocess.run,
        [binary("temporal"), "workflow", *args, "--address", temporal_address(env)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_forged_cli_update_fails_and_changes_nothing(
    dev_env: WorkflowEnvironment, tmp_path: Path, templates: Templates
) -> None:
    url = await templates.sqlite_copy(tmp_path / "petitionflow.db")
    settings = make_settings(tmp_path, database_url=url)
    sessions = await open_store(settings)
    async with worker_for(dev_env.client, settings, sessions):
        case = await start_case(dev_env, sessions, settings)
        await case.accept()
        await case.update(
            PetitionWorkflow.request_extension, ExtensionRequest(days=20, reason="需要鉴定")
        )
        await case.quiet()
        before = await case.state()
        approval: dict[str, Any] = {
            "approve": True,
            "approver": DONGGUAN_HEAD.model_dump(mode="json"),
        }
        forged = await cli(
            dev_env,
            "update",
            "execute",
            "--workflow-id",
            case.handle.id,
            "--name",
            "decide_extension",
            "--input",
            json.dumps(approval, ensure_ascii=False),
        )
        # Nothing applied. The exit code alone proves nothing: before the fix the CLI failed
        # to print the encrypted answer of an update it had applied.
        after = await case.state()
        assert after == before and after.extension is not None
        assert after.extension.approved is None
        assert forged.returncode != 0, forged.stdout
        # Rejected, its reason encrypted like every failure (the codec endpoint shows it).
        assert "Encoded failure" in forged.stderr, forged.stderr
        history = await case.handle.fetch_history()
        accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        assert [e.event_type for e in history.events].count(accepted) == 2  # accept, request

        # A start forged under a number of its own runs nothing: its task fails, nothing is
        # projected, until someone terminates it.
        forged_id = "XF-2099-999999"
        start = await cli(
            dev_env,
            "start",
            "--type",
            "PetitionWorkflow",
            "--task-queue",
            settings.task_queue,
            "--workflow-id",
            forged_id,
            "--input",
            json.dumps({"petition_id": forged_id}),
        )
        assert start.returncode == 0, start.stderr
        handle = dev_env.client.get_workflow_handle(forged_id)

        async def failed_tasks() -> list[str]:
            events = (await handle.fetch_history()).events
            return [
                e.workflow_task_failed_event_attributes.failure.message
                for e in events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]

        await eventually(failed_tasks, lambda messages: len(messages) >= 1)
        await handle.terminate("forged start")
    async with sessions() as session:
        assert await petitions.get(session, forged_id) is None
    await dispose(sessions)
