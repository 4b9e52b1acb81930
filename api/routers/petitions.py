"""Petitions: register (登记), accept (受理), complete (办结), the live state and the lists."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Response, status
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ServicesDep, SessionDep
from api.schemas import (
    AccountablePublic,
    ErrorPublic,
    NoticePublic,
    PetitionCreate,
    PetitionerPublic,
    PetitionPage,
    PetitionPublic,
    PetitionSummary,
)
from domain.contracts import (
    PETITION_ID_PATTERN,
    AcceptRequest,
    CompleteRequest,
    Deadline,
    PetitionState,
    TimelineEvent,
)
from domain.vocabulary import Role, Stage
from store import directory, petitions
from store.models import Petition
from worker.petitions import ensure_started, start_input
from workflows.petition import PetitionWorkflow

log = logging.getLogger("petitionflow.api")
router = APIRouter(prefix="/petitions", tags=["petitions"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorPublic, "description": "no such petition"}}
REFUSED: Responses = {
    409: {"model": ErrorPublic, "description": "the petition's stage refuses the action"}
}
UNAVAILABLE: Responses = {503: {"model": ErrorPublic, "description": "workflow engine unavailable"}}

PetitionId = Annotated[str, Path(description="petition number, e.g. XF-2026-000123")]


def _summary_fields(row: Petition) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "category": row.category,
        "track": row.track,
        "unit_id": row.unit_id,
        "summary": row.summary,
        "stage": row.stage,
        "level": row.level,
        "overdue": row.overdue,
        "accountable": AccountablePublic.model_validate(row.accountable)
        if row.accountable
        else None,
        "registered_at": row.registered_at,
        "accepted_at": row.accepted_at,
        "completed_at": row.completed_at,
    }


def _public(
    row: Petition, timeline: list[TimelineEvent], live: PetitionState | None
) -> PetitionPublic:
    """The intake record with the live state: from the workflow when it answers, else from the
    read model (same shape, at most one step behind)."""
    fields = _summary_fields(row)
    deadlines = [Deadline.model_validate(d) for d in row.deadlines]
    reply = row.reply
    if live is not None:
        fields.update(
            stage=live.stage,
            level=live.level,
            overdue=live.overdue,
            accountable=AccountablePublic.model_validate(live.accountable.model_dump())
            if live.accountable
            else None,
            accepted_at=live.accepted_at,
            completed_at=live.completed_at,
        )
        deadlines, timeline, reply = live.deadlines, live.timeline, live.reply
    return PetitionPublic(
        **fields,
        persons=row.persons,
        content=row.content,
        petitioner=PetitionerPublic(name=row.petitioner_name, phone=row.petitioner_phone),
        reply=reply,
        policy_version=row.policy_version,
        deadlines=deadlines,
        timeline=timeline,
    )


async def _row_or_404(session: SessionDep, petition_id: str) -> Petition:
    row = (
        await petitions.get(session, petition_id)
        if re.match(PETITION_ID_PATTERN, petition_id)
        else None
    )
    if row is None:
        raise HTTPException(404, f"petition {petition_id} not found")
    return row


async def _handle(
    services: ServicesDep, session: SessionDep, petition_id: str
) -> WorkflowHandle[Any, Any]:
    # End the read transaction before waiting on the workflow: on SQLite a transaction holds
    # the database lock, and the workflow's own projection must write before it answers.
    await session.commit()
    client = await services.temporal()
    return client.get_workflow_handle(petition_id)


def _rpc_timeout(services: ServicesDep) -> timedelta:
    return timedelta(seconds=services.settings.temporal_rpc_timeout_seconds)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PetitionPublic,
    responses={
        **UNAVAILABLE,
        422: {
            "description": "invalid body, unknown unit, or an "
            "Idempotency-Key reused with a different body"
        },
    },
)
async def register_petition(
    body: PetitionCreate,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="repeat the request with the same key to get the "
            "same petition back and start nothing new",
        ),
    ] = None,
) -> PetitionPublic:
    """登记 and 交办: record the petition and start its workflow, handing it to ``unit_id``."""
    unit = await directory.get_unit(session, body.unit_id)
    if unit is None or unit.kind == "bureau":
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "unit_id"],
                    "type": "unknown_unit",
                    "msg": f"no responsible unit {body.unit_id!r}; see GET /api/v1/units",
                    "input": body.unit_id,
                }
            ],
        )
    payload = body.model_dump(mode="json")
    fingerprint = hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    intake = {k: v for k, v in payload.items() if k != "petitioner"}
    intake.update(petitioner_name=body.petitioner.name, petitioner_phone=body.petitioner.phone)
    try:
        registration = await petitions.register(
            session,
            intake=intake,
            now=petitions.utcnow(),
            policy=services.settings.policy().model_dump(mode="json"),
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
    except petitions.IdempotencyConflict as exc:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "type": "key_reused",
                    "msg": "this Idempotency-Key was used for a different petition",
                    "input": idempotency_key,
                }
            ],
        ) from exc
    row = registration.petition
    if not registration.created:
        response.headers["Idempotent-Replayed"] = "true"
    if not row.workflow_started:
        try:
            await ensure_started(
                await services.temporal(), services.settings.task_queue, start_input(row)
            )
        except (RPCError, HTTPException) as exc:
            # The intake row is safe; the worker's start-up sweep starts the workflow later.
            log.warning("petition %s registered, workflow not started yet: %s", row.id, exc)
            raise HTTPException(
                503,
                f"petition {row.id} is registered, but the workflow engine "
                "is unavailable; it will start automatically",
            ) from exc
        await petitions.mark_started(session, row.id)
    return _public(row, [], None)


@router.get("", response_model=PetitionPage)
async def list_petitions(
    session: SessionDep,
    stage: Stage | None = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[int | None, Query(ge=1, le=10)] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PetitionPage:
    """Supervisors' list, newest first, from the read model."""
    rows, total = await petitions.search(
        session,
        petitions.PetitionFilter(
            stage=stage.value if stage else None, unit_id=unit_id, level=level, overdue=overdue
        ),
        limit=limit,
        offset=offset,
    )
    return PetitionPage(
        items=[PetitionSummary(**_summary_fields(r)) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{petition_id}", response_model=PetitionPublic, responses=NOT_FOUND)
async def get_petition(
    petition_id: PetitionId, session: SessionDep, services: ServicesDep
) -> PetitionPublic:
    """The live state: stage, level, who is accountable, every deadline and the timeline."""
    row = await _row_or_404(session, petition_id)
    live: PetitionState | None = None
    if row.workflow_started:
        try:
            handle = await _handle(services, session, petition_id)
            live = await handle.query(PetitionWorkflow.state, rpc_timeout=_rpc_timeout(services))
        except (RPCError, WorkflowQueryFailedError, HTTPException) as exc:
            log.info(
                "petition %s: live query failed (%s); answering from the read model",
                petition_id,
                exc,
            )
    timeline = (
        []
        if live
        else [
            TimelineEvent.model_validate(e, from_attributes=True)
            for e in await petitions.timeline(session, petition_id)
        ]
    )
    return _public(row, timeline, live)


@router.get("/{petition_id}/notices", response_model=list[NoticePublic], responses=NOT_FOUND)
async def list_notices(petition_id: PetitionId, session: SessionDep) -> list[NoticePublic]:
    """The slips (交办/催办/督办/逾期) this petition has sent, oldest first."""
    await _row_or_404(session, petition_id)
    return [
        NoticePublic(
            key=n.key,
            kind=n.kind,
            level=n.level,
            recipient_id=n.recipient_id,
            recipient_name=n.recipient_name,
            recipient_role=Role(n.recipient_role),
            text=n.text,
            created_at=n.created_at,
        )
        for n in await petitions.notices(session, petition_id)
    ]


async def _update(
    services: ServicesDep, session: SessionDep, row: Petition, update: Any, arg: Any
) -> PetitionPublic:
    handle = await _handle(services, session, row.id)
    try:
        state: PetitionState = await handle.execute_update(
            update, arg, rpc_timeout=_rpc_timeout(services)
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise HTTPException(409, message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise HTTPException(
            503, f"petition {row.id} did not answer in time; check its state before retrying"
        ) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            # The workflow has closed: the petition is completed, nothing more can happen.
            raise HTTPException(409, f"petition {row.id} is closed ({row.stage})") from exc
        raise HTTPException(503, f"workflow engine unavailable: {exc.message}") from exc
    await session.refresh(row)
    return _public(row, state.timeline, state)


@router.post(
    "/{petition_id}/accept",
    response_model=PetitionPublic,
    responses={**NOT_FOUND, **REFUSED, **UNAVAILABLE},
)
async def accept_petition(
    petition_id: PetitionId,
    session: SessionDep,
    services: ServicesDep,
    body: Annotated[AcceptRequest | None, Body()] = None,
) -> PetitionPublic:
    """受理: the unit accepts; the case handler is accountable for week one. ``handler_id``
    (optional) names one of the unit's handlers; by default its first handler."""
    row = await _row_or_404(session, petition_id)
    request = body or AcceptRequest()
    if request.handler_id is not None:
        handlers = await directory.role_holders(session, row.unit_id, Role.HANDLER.value)
        if request.handler_id not in {p.id for p, _ in handlers}:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["body", "handler_id"],
                        "type": "unknown_handler",
                        "msg": f"{request.handler_id!r} is not a handler of unit {row.unit_id}",
                        "input": request.handler_id,
                    }
                ],
            )
    return await _update(services, session, row, PetitionWorkflow.accept, request)


@router.post(
    "/{petition_id}/complete",
    response_model=PetitionPublic,
    responses={**NOT_FOUND, **REFUSED, **UNAVAILABLE},
)
async def complete_petition(
    petition_id: PetitionId, body: CompleteRequest, session: SessionDep, services: ServicesDep
) -> PetitionPublic:
    """办结: record the reply (答复意见); every reminder and escalation stops."""
    row = await _row_or_404(session, petition_id)
    return await _update(services, session, row, PetitionWorkflow.complete, body)
