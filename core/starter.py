"""Starting petition workflows: the one place that knows the workflow id is the petition number
and how a repeated start must behave."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.contracts import Intake, PetitionStart
from domain.lifecycle import terminated_repeat
from domain.policy import PolicyBook
from domain.vocabulary import Category, Track
from store.models import Petition
from workflows.petition import PetitionWorkflow

log = logging.getLogger("petitionflow.starter")

# What a registration is known by and never changes after: the run under its number must carry
# the same, or it is another petition's (the unit, track and policy move with 交办 and transfers).
IDENTITY_FIELDS: set[str] = set(
    {"channel", "petitioner_name", "petitioner_phone", "petitioner_id_number", "summary", "content"}
)


class WorkflowIdentityConflict(RuntimeError):
    """The petition number already names a workflow in Temporal that is not this petition's: a
    database restored from a backup numbers again from an older point, or two environments
    share one namespace. Starting would bind this registration to that other case."""

    def __init__(self, petition_id: str, why: str) -> None:
        super().__init__(
            f"petition number {petition_id} is already used in Temporal by another workflow "
            f"({why}); this registration is not attached to it. A database restored from a "
            "backup, or two environments on one namespace? See README, 'Workflow identity'."
        )
        self.petition_id = petition_id


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
    (new or running) workflow, None when it has closed already. Raises WorkflowIdentityConflict
    (and logs it) when the run found under the number is another petition's."""
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
    except WorkflowAlreadyStartedError as exc:
        await _check_identity(client, start, exc.run_id)
        return None  # it ran to completion before: nothing to start
    # The server says whether this call started the run; one found running is checked (a test
    # server that does not say is checked every time, which is only slower).
    response = getattr(handle, "_start_workflow_response", None)
    if not getattr(response, "started", False):
        await _check_identity(client, start, handle.result_run_id)
    return handle.result_run_id


async def _check_identity(client: Client, start: PetitionStart, run_id: str | None) -> None:
    """Raise WorkflowIdentityConflict unless the run's own start input is this registration."""
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=start.petition_id, run_id=run_id or ""),
            maximum_page_size=1,  # the start event is all it takes
        )
    )
    started = history.history.events[0].workflow_execution_started_event_attributes
    why = await _mismatch(client, start, started.workflow_type.name, started.input.payloads)
    if why is not None:
        conflict = WorkflowIdentityConflict(start.petition_id, why)
        log.error("%s", conflict)
        raise conflict


async def _mismatch(
    client: Client, start: PetitionStart, workflow_type: str, payloads: Sequence[Payload]
) -> str | None:
    """Why the run found is not ``start``'s petition, or None when it is."""
    if workflow_type != "PetitionWorkflow":
        return f"a {workflow_type} workflow"
    try:
        [found] = await client.data_converter.decode(payloads, [PetitionStart])
    except Exception as exc:  # any input this deployment cannot read is another deployment's
        return f"its input does not open with this deployment's keys: {type(exc).__name__}"
    if not isinstance(found, PetitionStart):
        return "its input is not a petition's start"
    if _utc(found.registered_at) != _utc(start.registered_at):
        return f"registered at {_utc(found.registered_at)}, not {_utc(start.registered_at)}"
    # Workflows started before the intake travelled with them carry none: the time must do.
    if found.intake is None or start.intake is None:
        return None
    if found.intake.model_dump(include=IDENTITY_FIELDS) != start.intake.model_dump(
        include=IDENTITY_FIELDS
    ):
        return "another petitioner or matter"  # which one stays out of the log
    return None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
