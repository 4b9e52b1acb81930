"""Starting petition workflows: the one place that knows the workflow id is the petition number
and how a repeated start must behave."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.contracts import PetitionStart
from domain.policy import EscalationPolicy
from domain.vocabulary import Category, Track
from store.models import Petition
from workflows.petition import PetitionWorkflow


def start_input(row: Petition) -> PetitionStart:
    return PetitionStart(
        petition_id=row.id,
        unit_id=row.unit_id,
        track=Track(row.track),
        category=Category(row.category),
        registered_at=row.registered_at,
        policy=EscalationPolicy.model_validate(row.policy),
    )


async def ensure_started(client: Client, task_queue: str, start: PetitionStart) -> None:
    """Start the petition's workflow unless it runs or ran already: a retry after a crash, a
    repeated request or the worker's start-up sweep can all call this safely."""
    # Already-started means it ran to completion before: nothing to start.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            PetitionWorkflow.run,
            start,
            id=start.petition_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A closed petition keeps its number: never start a second chain under it.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
