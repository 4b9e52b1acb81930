"""Petitions through the closed loop (闭环): register (登记), assign (交办), accept (受理) or
decline/transfer, extend, complete (办结), rate (回访), review (复查/复核), withdraw — plus the
live state, the lists, the slips sent and the written notices."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime, timedelta
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

from api.auth import CurrentUser, require
from api.deps import ServicesDep, SessionDep
from api.errors import unprocessable
from api.schemas import (
    MAX_OFFSET,
    AccountablePublic,
    AssignIn,
    DocumentPublic,
    ErrorPublic,
    ExtensionDecisionIn,
    NoticePublic,
    OwnerIn,
    PetitionCreate,
    PetitionerPublic,
    PetitionPage,
    PetitionPublic,
    PetitionSummary,
    TransferIn,
)
from core.starter import ensure_started, start_input
from domain.access import Action, Principal, mask_id_number, mask_phone, sees_contact_details
from domain.contracts import (
    PETITION_ID_PATTERN,
    AcceptRequest,
    AssignRequest,
    CompleteRequest,
    DeclineRequest,
    ExtensionDecision,
    ExtensionRequest,
    OwnerRequest,
    Person,
    PetitionState,
    RateRequest,
    ReviewRequest,
    TimelineEvent,
    TransferRequest,
    WithdrawRequest,
)
from domain.vocabulary import Category, Phase, Role, Stage
from store import directory, petitions
from store.models import Person as PersonRow
from store.models import Petition
from workflows.petition import PetitionWorkflow

log = logging.getLogger("petitionflow.api")
router = APIRouter(prefix="/petitions", tags=["petitions"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {
    404: {"model": ErrorPublic, "description": "no such petition (or not one of your units')"}
}
FORBIDDEN: Responses = {403: {"model": ErrorPublic, "description": "not yours to do"}}
REFUSED: Responses = {
    409: {"model": ErrorPublic, "description": "the petition's stage refuses the action"}
}
UNAVAILABLE: Responses = {503: {"model": ErrorPublic, "description": "workflow engine unavailable"}}
ACTION: Responses = {**NOT_FOUND, **FORBIDDEN, **REFUSED, **UNAVAILABLE}
LEADER_ROLES = (Role.SUPERVISING_LEADER, Role.UNIT_HEAD, Role.COUNTY_CONTACT_LEADER)

PetitionId = Annotated[str, Path(description="petition number, e.g. XF-2026-000123")]


def _person(data: dict[str, Any] | None) -> AccountablePublic | None:
    return AccountablePublic.model_validate(data) if data else None


def _row_state(row: Petition) -> dict[str, Any]:
    """The live fields as the read model last projected them."""
    return {
        "unit_id": row.unit_id,
        "stage": row.stage,
        "phase": row.phase,
        "level": row.level,
        "overdue": row.overdue,
        "accountable": _person(row.accountable),
        "owner": _person(row.owner),
        "closure": row.closure,
        "accepted_at": row.accepted_at,
        "completed_at": row.completed_at,
    }


def _live_state(live: PetitionState) -> dict[str, Any]:
    def person(p: Person | None) -> AccountablePublic | None:
        return _person(p.model_dump()) if p else None

    return {
        "unit_id": live.unit_id,
        "stage": live.stage,
        "phase": live.phase,
        "level": live.level,
        "overdue": live.overdue,
        "accountable": person(live.accountable),
        "owner": person(live.owner),
        "closure": live.closure,
        "accepted_at": live.accepted_at,
        "completed_at": live.completed_at,
    }


def _intake(row: Petition) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "category": row.category,
        "track": row.track,
        "summary": row.summary,
        "registered_at": row.registered_at,
        "repeat_of": row.repeat_of,
    }


def _summary(row: Petition) -> PetitionSummary:
    return PetitionSummary(**_intake(row), **_row_state(row))


def _petitioner(row: Petition, reader: Principal) -> PetitionerPublic:
    """The petitioner's contact details, masked for readers who need not reach them."""
    id_number = row.petitioner_id_number
    if sees_contact_details(reader, row.unit_id, row.owner_id):
        return PetitionerPublic(
            name=row.petitioner_name, phone=row.petitioner_phone, id_number=id_number
        )
    return PetitionerPublic(
        name=row.petitioner_name,
        phone=mask_phone(row.petitioner_phone),
        id_number=mask_id_number(id_number) if id_number else None,
        masked=True,
    )


def _public(
    row: Petition, timeline: list[TimelineEvent], live: PetitionState | None, reader: Principal
) -> PetitionPublic:
    """The intake record with the live state: from the workflow when it answers, else from the
    read model (same shape, at most one step behind)."""
    detail: dict[str, Any] = {
        **_intake(row),
        "persons": row.persons,
        "content": row.content,
        "petitioner": _petitioner(row, reader),
        "policy_version": row.policy_version,
    }
    if live is None:
        detail.update(
            _row_state(row),
            reply=row.reply,
            rating=row.rating,
            extension=row.extension,
            uploaded=row.uploaded,
            deadlines=row.deadlines,
            timeline=timeline,
        )
    else:
        detail.update(
            _live_state(live),
            reply=live.reply,
            rating=live.rating,
            extension=live.extension,
            uploaded=live.uploaded,
            deadlines=live.deadlines,
            timeline=live.timeline,
            policy_version=live.policy_version,
        )
    return PetitionPublic.model_validate(detail)


async def _row_or_404(
    session: SessionDep, petition_id: str, reader: Principal, action: Action | None = None
) -> Petition:
    """The petition, when ``reader`` may see it: one outside their units answers 404 like a
    petition that does not exist, so not even its existence leaks. With ``action``, one they
    see but may not act on answers 403."""
    row = (
        await petitions.get(session, petition_id)
        if re.match(PETITION_ID_PATTERN, petition_id)
        else None
    )
    if row is None or not reader.may_read(row.unit_id, row.owner_id):
        raise HTTPException(404, f"petition {petition_id} not found")
    if action is not None:
        require(reader, action, row.unit_id)
    return row


async def _responsible_unit(session: SessionDep, unit_id: str) -> None:
    unit = await directory.get_unit(session, unit_id)
    if unit is None or unit.kind not in ("township", "department"):
        raise unprocessable(
            "unit_id",
            "unknown_unit",
            f"no responsible unit {unit_id!r}; see GET /api/v1/units",
            unit_id,
        )


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
        **FORBIDDEN,
        422: {
            "description": "invalid body, unknown unit, or an Idempotency-Key reused with a "
            "different body"
        },
    },
)
async def register_petition(
    body: PetitionCreate,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="repeat the request with the same key to get the same petition back "
            "and start nothing new",
        ),
    ] = None,
) -> PetitionPublic:
    """登记, and 交办 when ``unit_id`` is given: record the petition and start its workflow.
    A petition of a petitioner whose same matter was terminated (三级终结) is flagged as a
    repeat (重复件) and linked to it. The bureau's (and its integrations') to do."""
    require(user, Action.REGISTER)
    if body.unit_id is not None:
        await _responsible_unit(session, body.unit_id)
    payload = body.model_dump(mode="json")
    fingerprint = hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    intake = {k: v for k, v in payload.items() if k != "petitioner"}
    intake.update(
        petitioner_name=body.petitioner.name,
        petitioner_phone=body.petitioner.phone,
        petitioner_id_number=body.petitioner.id_number,
    )
    settings = services.settings
    book = settings.policy_book()
    intake["repeat_of"] = await petitions.terminated_matter(
        session, phone=body.petitioner.phone, category=body.category.value
    )
    try:
        registration = await petitions.register(
            session,
            intake=intake,
            now=petitions.utcnow(),
            policy={"book": book.model_dump(mode="json"), "day_seconds": settings.day_seconds},
            policy_version=settings.policy(body.unit_id, body.category.value).version,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
    except petitions.IdempotencyConflict as exc:
        raise unprocessable(
            "Idempotency-Key",
            "key_reused",
            "this Idempotency-Key was used for a different petition",
            idempotency_key,
            where="header",
        ) from exc
    row = registration.petition
    if not registration.created:
        response.headers["Idempotent-Replayed"] = "true"
    if not row.workflow_started:
        try:
            await ensure_started(
                await services.temporal(),
                settings.task_queue,
                start_input(row, settings.review_units),
            )
        except (RPCError, HTTPException) as exc:
            # The intake row is safe; the worker's sweep starts the workflow later.
            log.warning("petition %s registered, workflow not started yet: %s", row.id, exc)
            raise HTTPException(
                503,
                f"petition {row.id} is registered, but the workflow engine is unavailable; "
                "it will start automatically",
            ) from exc
        await petitions.mark_started(session, row.id)
    return _public(row, [], None, user)


@router.get("", response_model=PetitionPage)
async def list_petitions(
    session: SessionDep,
    user: CurrentUser,
    stage: Stage | None = None,
    phase: Phase | None = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[int | None, Query(ge=1, le=10)] = None,
    overdue: bool | None = None,
    category: Category | None = None,
    due_before: Annotated[
        datetime | None,
        Query(
            description="only petitions with a pending deadline at or before this moment "
            "(due soon), e.g. 2026-12-01T00:00:00+08:00"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PetitionPage:
    """Supervisors' list, newest first, from the read model: the petitions of the reader's
    units and the cases they own (every unit for the bureau, county principal leaders and
    auditors)."""
    rows, total = await petitions.search(
        session,
        petitions.PetitionFilter(
            stage=stage.value if stage else None,
            phase=phase.value if phase else None,
            unit_id=unit_id,
            level=level,
            overdue=overdue,
            category=category.value if category else None,
            due_before=due_before,
            within_units=None if user.reads_all else user.chain_units,
            owned_by=user.person_id,
        ),
        limit=limit,
        offset=offset,
    )
    return PetitionPage(items=[_summary(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{petition_id}", response_model=PetitionPublic, responses=NOT_FOUND)
async def get_petition(
    petition_id: PetitionId, session: SessionDep, services: ServicesDep, user: CurrentUser
) -> PetitionPublic:
    """The live state: stage, level, who is accountable, every deadline with its reason, and
    the timeline."""
    row = await _row_or_404(session, petition_id, user)
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
    return _public(row, timeline, live, user)


@router.get("/{petition_id}/notices", response_model=list[NoticePublic], responses=NOT_FOUND)
async def list_notices(
    petition_id: PetitionId, session: SessionDep, user: CurrentUser
) -> list[NoticePublic]:
    """The slips (交办/催办/督办/逾期/告知) this petition has sent, oldest first."""
    await _row_or_404(session, petition_id, user)
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


@router.get("/{petition_id}/documents", response_model=list[DocumentPublic], responses=NOT_FOUND)
async def list_documents(
    petition_id: PetitionId, session: SessionDep, user: CurrentUser
) -> list[DocumentPublic]:
    """Written documents: the acceptance notice (四告知) of each round."""
    await _row_or_404(session, petition_id, user)
    return [
        DocumentPublic(kind=d.kind, key=d.key, text=d.text, created_at=d.created_at)
        for d in await petitions.documents(session, petition_id)
    ]


async def _update(
    services: ServicesDep,
    session: SessionDep,
    row: Petition,
    update: Any,
    arg: Any,
    user: Principal,
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
            # The workflow has closed: the petition is finished, nothing more can happen.
            raise HTTPException(409, f"petition {row.id} is closed ({row.stage})") from exc
        raise HTTPException(503, f"workflow engine unavailable: {exc.message}") from exc
    await session.refresh(row)
    await session.commit()  # end the read at once: on SQLite an open transaction holds the lock
    return _public(row, state.timeline, state, user)


@router.post("/{petition_id}/assign", response_model=PetitionPublic, responses=ACTION)
async def assign_petition(
    petition_id: PetitionId,
    body: AssignIn,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """交办: the bureau hands a registered petition to a responsible unit."""
    row = await _row_or_404(session, petition_id, user, Action.ASSIGN)
    await _responsible_unit(session, body.unit_id)
    return await _update(
        services, session, row, PetitionWorkflow.assign, AssignRequest(unit_id=body.unit_id), user
    )


@router.post("/{petition_id}/accept", response_model=PetitionPublic, responses=ACTION)
async def accept_petition(
    petition_id: PetitionId,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
    body: Annotated[AcceptRequest | None, Body()] = None,
) -> PetitionPublic:
    """受理: the unit accepts; the case handler is accountable for week one and the petitioner
    gets the written notice (四告知). ``handler_id`` (optional) names one of the unit's
    handlers; by default its first handler."""
    row = await _row_or_404(session, petition_id, user, Action.ACCEPT)
    request = body or AcceptRequest()
    if request.handler_id is not None:
        handlers = await directory.role_holders(session, row.unit_id or "", Role.HANDLER.value)
        if request.handler_id not in {p.id for p, _ in handlers}:
            raise unprocessable(
                "handler_id",
                "unknown_handler",
                f"{request.handler_id!r} is not a handler of unit {row.unit_id}",
                request.handler_id,
            )
    return await _update(services, session, row, PetitionWorkflow.accept, request, user)


@router.post("/{petition_id}/decline", response_model=PetitionPublic, responses=ACTION)
async def decline_petition(
    petition_id: PetitionId,
    body: DeclineRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """不予受理, with the reason and the legal basis; the petitioner is told in writing."""
    row = await _row_or_404(session, petition_id, user, Action.DECLINE)
    return await _update(services, session, row, PetitionWorkflow.decline, body, user)


@router.post("/{petition_id}/transfer", response_model=PetitionPublic, responses=ACTION)
async def transfer_petition(
    petition_id: PetitionId,
    body: TransferIn,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """转办 to another unit with a reason: the new unit's clock starts afresh."""
    row = await _row_or_404(session, petition_id, user, Action.TRANSFER)
    await _responsible_unit(session, body.unit_id)
    return await _update(
        services,
        session,
        row,
        PetitionWorkflow.transfer,
        TransferRequest(unit_id=body.unit_id, reason=body.reason),
        user,
    )


@router.post("/{petition_id}/withdraw", response_model=PetitionPublic, responses=ACTION)
async def withdraw_petition(
    petition_id: PetitionId,
    body: WithdrawRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """撤回 by the petitioner: the chain ends with the reason."""
    row = await _row_or_404(session, petition_id, user, Action.WITHDRAW)
    return await _update(services, session, row, PetitionWorkflow.withdraw, body, user)


@router.post("/{petition_id}/extension", response_model=PetitionPublic, responses=ACTION)
async def request_extension(
    petition_id: PetitionId,
    body: ExtensionRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """延期申请 by the handler, with the reason; at most once, at most the policy's cap."""
    row = await _row_or_404(session, petition_id, user, Action.REQUEST_EXTENSION)
    return await _update(services, session, row, PetitionWorkflow.request_extension, body, user)


@router.post(
    "/{petition_id}/extension/decision",
    response_model=PetitionPublic,
    responses={**ACTION, 403: {"model": ErrorPublic, "description": "not the unit's head"}},
)
async def decide_extension(
    petition_id: PetitionId,
    body: ExtensionDecisionIn,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """The unit head approves (deadlines and the chain move; the petitioner is told) or
    refuses the extension. The approver is the signed-in head of the petition's unit."""
    row = await _row_or_404(session, petition_id, user, Action.DECIDE_EXTENSION)
    if body.approver_id is not None and body.approver_id != user.person_id:
        raise HTTPException(403, f"{user.username} decides as themself, not as {body.approver_id}")
    head = await session.get(PersonRow, user.person_id)
    if head is None:  # the account was removed while the request ran
        raise HTTPException(403, f"{user.username} is no longer in the directory")
    approver = Person(
        person_id=head.id,
        name=head.name,
        title=head.title,
        role=Role.UNIT_HEAD,
        unit_id=row.unit_id or "",
    )
    return await _update(
        services,
        session,
        row,
        PetitionWorkflow.decide_extension,
        ExtensionDecision(approve=body.approve, approver=approver, note=body.note),
        user,
    )


@router.post("/{petition_id}/complete", response_model=PetitionPublic, responses=ACTION)
async def complete_petition(
    petition_id: PetitionId,
    body: CompleteRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """办结: record the reply (答复意见); every reminder and escalation stops, the reply is
    uploaded to the upper-level system and the revisit (回访) window opens."""
    row = await _row_or_404(session, petition_id, user, Action.COMPLETE)
    return await _update(services, session, row, PetitionWorkflow.complete, body, user)


@router.post("/{petition_id}/rating", response_model=PetitionPublic, responses=ACTION)
async def rate_petition(
    petition_id: PetitionId,
    body: RateRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """回访: the petitioner's rating (satisfied / basically_satisfied / dissatisfied)."""
    row = await _row_or_404(session, petition_id, user, Action.RATE)
    return await _update(services, session, row, PetitionWorkflow.rate, body, user)


@router.post("/{petition_id}/review", response_model=PetitionPublic, responses=ACTION)
async def request_review(
    petition_id: PetitionId,
    body: ReviewRequest,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """申请复查 (then 复核) within the window after the reply: the next level up handles it
    with its own deadline, reminders and escalation. After 复核 the matter is final."""
    row = await _row_or_404(session, petition_id, user, Action.REQUEST_REVIEW)
    return await _update(services, session, row, PetitionWorkflow.request_review, body, user)


@router.post("/{petition_id}/owner", response_model=PetitionPublic, responses=ACTION)
async def set_owner(
    petition_id: PetitionId,
    body: OwnerIn,
    session: SessionDep,
    services: ServicesDep,
    user: CurrentUser,
) -> PetitionPublic:
    """领导包案: a leader owns the case and receives every reminder and supervision notice."""
    row = await _row_or_404(session, petition_id, user, Action.SET_OWNER)
    found = await directory.leader(session, body.person_id, [r.value for r in LEADER_ROLES])
    if found is None:
        raise unprocessable(
            "person_id",
            "not_a_leader",
            f"{body.person_id!r} holds no leader post in the directory",
            body.person_id,
        )
    person, post = found
    owner = Person(
        person_id=person.id,
        name=person.name,
        title=person.title,
        role=Role(post.role),
        unit_id=post.unit_id,
    )
    return await _update(
        services, session, row, PetitionWorkflow.set_owner, OwnerRequest(owner=owner), user
    )
