"""Starting petition workflows: the one place that knows the workflow id is the petition number
and how a repeated start must behave."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.contracts import Intake, PetitionStart
from domain.lifecycle import terminated_repeat
from domain.policy import PolicyBook
from domain.vocabulary import Category, Track
from store.models import Petition
from workflows.petition import PetitionWorkflow


def start_input(row: Petition, review_units: list[str]) -> PetitionStart:
    """The workflow's input from the intake record, on the policy book it was registered under.
    The intake itself goes along (encrypted) so that the rebuild can restore the record."""
    book = PolicyBook.model_validate(row.policy["book"])
    policy = book.policy_for(row.unit_id or "", row.category, float(row.policy["day_seconds"]))
    return PetitionStart(
        petition_id=row.id,
        unit_id=row.unit_id,
        track=Track(row.track),
        category=Category(row.category),
        registered_at=row.registered_at,
        policy=policy,
        policy_book=book,
        review_units=review_units,
        # Its fields are the row's columns by name.
        intake=Intake.model_validate(row, from_attributes=True),
        terminated_repeat_of=terminated_repeat(row.repeat_of, row.new_facts),
    )


async def ensure_started(client: Client, task_queue: str, start: PetitionStart) -> str | None:
    """Start the petition's workflow unless it runs or ran already: a retry after a crash, a
    repeated request or the worker's sweep can all call this safely. Returns the run id of the
    (new or running) workflow, None when it has closed already."""
    try:
        handle = await client.start_workflow(
            PetitionWorkflow.run,
            start,
            id=start.petition_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A closed petition keeps its number: never start a second chain under it.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return None  # it ran to completion before: nothing to start
    return handle.result_run_id
