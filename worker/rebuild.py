"""``python -m worker.rebuild``: restore the read model from Temporal after a database loss.

Every petition's workflow history holds what its rows were made of: the intake record (in the
start input, encrypted by the payload codec) and the input of every ``record_step`` — the
petition's state, the timeline event and the notices of each step — in the order they were
projected. The rebuild replays those inputs through the same projection the activity uses
(``store.petitions.apply_step``), so a restored petition has the rows it had; it needs no
running worker, and closed petitions come back too, as long as Temporal keeps their history
(the namespace's retention period).

What is not in Temporal is not restored: the audit trail, Idempotency-Keys, sign-in data, the
org directory's changes since it was loaded from its file, and petitions registered whose
workflow never started.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError

from activities.delivery import NoticeDispatch
from activities.petition import PetitionActivities
from activities.upload import upstream_from_url
from core.database import prepare_store
from core.settings import Settings, get_settings
from core.temporal import connect
from domain.contracts import (
    RECORD_CHAIN_STEP,
    RECORD_STEP,
    WRITE_ACCEPTANCE_NOTICE,
    AcceptanceNotice,
    ChainStepWritten,
    PetitionStart,
    StepRecord,
)
from store import numbering, petitions
from store.db import dispose

log = logging.getLogger("petitionflow.rebuild")


@dataclass
class RebuildReport:
    """Petition numbers by outcome."""

    restored: list[str] = field(default_factory=list)
    # Restored from a workflow started before the intake travelled with it: the petitioner's
    # details are placeholders to be entered again from the paper record.
    incomplete: list[str] = field(default_factory=list)
    # The row was there: left alone, or with ``everything`` its missing rows filled in.
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class PetitionHistory:
    """What one workflow history says about its petition's rows."""

    start: PetitionStart
    steps: list[tuple[StepRecord, datetime]]
    acceptance_notices: list[AcceptanceNotice]


def petitions_query(task_queue: str) -> str:
    """This deployment's petitions: another deployment on the same namespace keeps its own."""
    return f'WorkflowType="PetitionWorkflow" AND TaskQueue="{task_queue}"'


async def rebuild(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[Any],
    *,
    everything: bool = False,
) -> RebuildReport:
    """Restore every petition of the task queue whose row is missing (with ``everything``,
    also fill in what the present ones lack). Running it again changes nothing."""
    report = RebuildReport()
    # The same activity renders the 四告知 again; nothing is uploaded.
    activities = PetitionActivities(
        sessions, upstream_from_url(settings.upstream_target(), token=settings.upstream_token)
    )
    # The 签收 moments of the 督办单 still awaited (the patch signatures-watched-in-outbox).
    watcher = NoticeDispatch(client, settings.notice_queue(), sessions, channels_on=False)
    seen: set[str] = set()
    async for execution in client.list_workflows(petitions_query(settings.task_queue)):
        if execution.id in seen:
            continue
        seen.add(execution.id)
        async with sessions() as session:
            present = await petitions.get(session, execution.id) is not None
        if present and not everything:
            report.present.append(execution.id)
            continue
        try:
            history = await read_history(client, execution.id, execution.run_id)
            restored = await _restore(sessions, history, watcher)
            if history.start.intake is not None:
                for notice in history.acceptance_notices:
                    await activities.write_acceptance_notice(notice)
        except (RPCError, SQLAlchemyError, RuntimeError, ValueError, LookupError) as exc:
            report.failed[execution.id] = _reason(exc)
            log.warning("petition %s not restored: %s", execution.id, _reason(exc))
            continue
        if not restored:
            report.present.append(execution.id)
        elif history.start.intake is None:
            report.incomplete.append(execution.id)
        else:
            report.restored.append(execution.id)
    if report.restored and not report.present:
        # The read model was lost whole: the slips and documents (文号) are numbered again in
        # the order they were written. Beside petitions still present, the restored ones keep
        # the numbers they took as they came back, after the present ones'.
        async with sessions() as session:
            await numbering.renumber(session)
            await session.commit()
    return report


async def read_history(client: Client, workflow_id: str, run_id: str | None) -> PetitionHistory:
    """The start input and the inputs of the steps, decoded (and decrypted) by the client's
    data converter."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return await petition_history(history, client.data_converter)


async def petition_history(history: WorkflowHistory, converter: DataConverter) -> PetitionHistory:
    """What ``history`` says about its petition's rows, its payloads decoded by ``converter``."""
    workflow_id = history.workflow_id
    start: PetitionStart | None = None
    steps: list[tuple[StepRecord, datetime]] = []
    notices: list[AcceptanceNotice] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await converter.decode(payloads, [PetitionStart])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            payloads = scheduled.input.payloads
            if scheduled.activity_type.name == RECORD_STEP:
                [record] = await converter.decode(payloads, [StepRecord])
                steps.append((record, _time_of(event)))
                notices.extend(record.documents)  # since v3 written with the steps
            elif scheduled.activity_type.name == WRITE_ACCEPTANCE_NOTICE:
                notices.extend(await converter.decode(payloads, [AcceptanceNotice]))
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            chain_step = await _chain_step(converter, event)
            if chain_step is not None:
                steps.append((chain_step, _time_of(event)))
    if start is None:
        raise LookupError(f"workflow {workflow_id} has no start event")
    return PetitionHistory(start, steps, notices)


# The marker the SDK records when a local activity completes: its ``data`` (the SDK's own JSON,
# never through the codec) names the activity, its ``result`` is the answer, encoded by the
# client's converter like any payload.
LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def _chain_step(converter: DataConverter, event: HistoryEvent) -> StepRecord | None:
    """The step a chain step's local activity wrote (``record_chain_step``), if the marker is
    one; a local activity's input is not in the history, its answer carries the record."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "result" not in marker.details:
        return None  # another marker (a patch), or an attempt that failed
    [data] = marker.details["data"].payloads
    if json.loads(data.data).get("activity_type") != RECORD_CHAIN_STEP:
        return None
    decoded = await converter.decode(marker.details["result"].payloads, [ChainStepWritten])
    answer: ChainStepWritten = decoded[0]
    return answer.record


async def _restore(
    sessions: async_sessionmaker[Any], history: PetitionHistory, watcher: NoticeDispatch
) -> bool:
    """The intake row and every step's projection in one transaction: a failure leaves no
    half-restored petition for the next run to skip. True when the row was missing. A 督办单
    whose 签收 moment is still ahead is watched again; one past it is not (whether it was
    signed for, and its 催办, were the database's alone: README, "Rebuilding")."""
    now = petitions.utcnow()
    async with sessions() as session:
        written = await petitions.restore_intake(session, history.start)
        for record, at in history.steps:
            # The step's time in the history stands in for when the activity wrote it.
            keys = await petitions.apply_step(session, record, at)
            if record.signing_watched:
                await watcher.watch_signatures(session, record, keys, after=now)
        await session.commit()
    return written


def _time_of(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        # Its message quotes the input, which may be the petitioner's data: never print it.
        return f"the history does not match the contracts ({exc.error_count()} errors)"
    return f"{type(exc).__name__}: {exc}"


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    everything: Annotated[
        bool,
        typer.Option(
            "--all", help="also fill in what present petitions lack (rows are never removed)"
        ),
    ] = False,
) -> None:
    """Restore the read model (petitions, timeline, notices, 四告知) from Temporal."""
    report = asyncio.run(_run(get_settings(), everything))
    _print(report)
    if report.failed:
        raise typer.Exit(1)


async def _run(settings: Settings, everything: bool) -> RebuildReport:
    sessions = await prepare_store(settings)
    try:
        client = await connect(settings)
        return await rebuild(client, settings, sessions, everything=everything)
    finally:
        await dispose(sessions)


def _print(report: RebuildReport) -> None:
    console = Console()
    table = Table("outcome", "petitions", "numbers")
    rows = [
        ("restored", report.restored),
        ("restored, intake incomplete", report.incomplete),
        ("already present", report.present),
        ("failed", list(report.failed)),
    ]
    for outcome, ids in rows:
        listed = "" if outcome == "already present" else ", ".join(ids)
        table.add_row(outcome, str(len(ids)), listed)
    console.print(table)
    for petition_id, reason in report.failed.items():
        console.print(f"[red]{petition_id}[/red]: {reason}")
    if report.incomplete:
        console.print(
            "Incomplete: started before the intake travelled with the workflow; the "
            "petitioner's name, phone, ID number, channel, persons and content are placeholders "
            "to be entered again from the paper record."
        )
    console.print(
        "Not restored (not kept in Temporal): the audit trail, Idempotency-Keys, sign-in data, "
        "directory changes, petitions whose workflow never started, and closed petitions "
        "past the namespace's retention. Notices are restored undelivered as they were."
    )


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()
