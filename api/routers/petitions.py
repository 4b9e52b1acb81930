"""Petitions through the closed loop (闭环): register (登记), assign (交办), accept (受理) or
decline/transfer, extend, complete (办结), rate (回访), review (复查/复核), withdraw — plus the
live state, the lists, the slips sent and the written notices. Each endpoint parses, calls the
service layer (api.service) and returns; the audit trail names each request after its
endpoint function, so these names are the actions on record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, status
from pydantic import BaseModel

from api import service
from api.auth import CurrentUser, Reader
from api.deps import ServicesDep, SessionDep, reads_only
from api.errors import utc_moment
from api.notice_schemas import NoticePublic
from api.schemas import (
    MAX_OFFSET,
    AssignIn,
    DocumentPublic,
    ErrorPublic,
    ExtensionDecisionIn,
    OwnerIn,
    PendingPublic,
    PetitionCreate,
    PetitionPage,
    PetitionPublic,
    RateIn,
    TransferIn,
    WithdrawIn,
)
from api.service import Case, petition_for
from domain.access import Action
from domain.contracts import (
    AcceptRequest,
    CompleteRequest,
    DeclineRequest,
    ExtensionRequest,
    ReviewRequest,
)
from domain.vocabulary import Category, Phase, Stage
from store.petition_lists import PetitionFilter

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
PENDING: Responses = {
    202: {
        "model": PendingPublic,
        "description": "no answer in time: the action may have been applied; its outcome is at "
        "`Location` (GET), or repeat the request with the same Idempotency-Key",
    }
}
ACTION: Responses = {**PENDING, **NOT_FOUND, **FORBIDDEN, **REFUSED, **UNAVAILABLE}

Readable = Annotated[Case, petition_for()]


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
    registered = await service.register(session, services, user, body, idempotency_key)
    if registered.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return registered.petition


def list_filters(
    stage: Stage | None = None,
    phase: Phase | None = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[int | None, Query(ge=1, le=10)] = None,
    overdue: bool | None = None,
    unaccepted_overdue: Annotated[
        bool | None,
        Query(description="逾期未受理: left unaccepted past the statutory limit (15 days)"),
    ] = None,
    category: Category | None = None,
    due_before: Annotated[
        datetime | None,
        Query(
            description="only petitions with a pending deadline at or before this moment "
            "(due soon), e.g. 2026-12-01T00:00:00+08:00"
        ),
    ] = None,
) -> PetitionFilter:
    """The lists' filters from the query: the JSON list's and the console's alike."""
    return PetitionFilter(
        stage=stage.value if stage else None,
        phase=phase.value if phase else None,
        unit_id=unit_id,
        level=level,
        overdue=overdue,
        unaccepted_overdue=unaccepted_overdue,
        category=category.value if category else None,
        due_before=utc_moment("due_before", due_before),
    )


ListFilters = Annotated[PetitionFilter, Depends(list_filters)]


@router.get("", response_model=PetitionPage)
async def list_petitions(
    session: SessionDep,
    user: Reader,
    filters: ListFilters,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PetitionPage:
    """Supervisors' list, newest first, from the read model: the petitions of the reader's
    units and the cases they own (every unit for the bureau, county principal leaders and
    auditors)."""
    return await service.search(session, user, filters, limit=limit, offset=offset)


@router.get("/{petition_id}", response_model=PetitionPublic, responses=NOT_FOUND)
async def get_petition(case: Readable) -> PetitionPublic:
    """The petition's state: stage, level, who is accountable, every deadline with its reason,
    and the timeline — from the read model, which follows the workflow within a moment."""
    return await service.detail(case)


@router.get("/{petition_id}/notices", response_model=list[NoticePublic], responses=NOT_FOUND)
async def list_notices(case: Readable) -> list[NoticePublic]:
    """The slips (交办/催办/督办/逾期/告知) this petition has sent, oldest first."""
    return await service.notices(case)


@router.get("/{petition_id}/documents", response_model=list[DocumentPublic], responses=NOT_FOUND)
async def list_documents(
    case: Readable,
    kind: Annotated[
        Literal["acceptance_notice", "reply_opinion"],
        Query(description="acceptance_notice (四告知, the default) or reply_opinion (答复意见书)"),
    ] = "acceptance_notice",
) -> list[DocumentPublic]:
    """Written documents: the acceptance notice (四告知) of each round, or with
    ``kind=reply_opinion`` the reply of each round (答复意见书)."""
    return await service.documents(case, kind)


@router.get(
    "/{petition_id}/actions/{action_id}",
    response_model=PetitionPublic,
    responses={**PENDING, **NOT_FOUND, **REFUSED, **UNAVAILABLE},
)
async def action_outcome(
    case: Readable,
    action_id: Annotated[
        str,
        Path(pattern=service.ACTION_ID_PATTERN, description="as a 202 answer named it"),
    ],
) -> PetitionPublic:
    """The outcome of an action answered 202: the state it led to (200), the workflow's
    refusal (409), still pending (202), or 404 when it never arrived (send it again)."""
    return await service.outcome(case, action_id)


def _done(case: Case, response: Response, answer: PetitionPublic) -> PetitionPublic:
    """An action's answer, with its id (Action-Id) to read its outcome again under."""
    if case.action_id is not None:
        response.headers["Action-Id"] = case.action_id
    return answer


# The actions. Each is the path's petition as the case for the action (404 outside the
# reader's reach, 403 naming the rule), the body as parsed, and the service's answer.


@router.post("/{petition_id}/accept", response_model=PetitionPublic, responses=ACTION)
@reads_only
async def accept_petition(
    case: Annotated[Case, petition_for(Action.ACCEPT)],
    response: Response,
    body: Annotated[AcceptRequest | None, Body()] = None,
) -> PetitionPublic:
    """受理: the unit accepts; the case handler is accountable for week one and the petitioner
    gets the written notice (四告知). ``handler_id`` (optional) names one of the unit's
    handlers; by default its first handler."""
    return _done(case, response, await service.accept(case, body or AcceptRequest()))


@router.post(
    "/{petition_id}/extension/decision",
    response_model=PetitionPublic,
    responses={**ACTION, 403: {"model": ErrorPublic, "description": "not the unit's head"}},
)
@reads_only
async def decide_extension(
    body: ExtensionDecisionIn,
    case: Annotated[Case, petition_for(Action.DECIDE_EXTENSION)],
    response: Response,
) -> PetitionPublic:
    """The unit head approves (deadlines and the chain move; the petitioner is told) or
    refuses the extension. The approver is the signed-in head of the petition's unit."""
    return _done(case, response, await service.decide_extension(case, body))


Act = Callable[[Case, Any], Awaitable[PetitionPublic]]

# The actions whose body goes to the service as it is, one row each: the path, the rule the
# reader must hold, the request (its docstring is the endpoint's description in the API docs),
# the service call, and the endpoint's name (the audit trail records requests by it).
PLAIN_ACTIONS: tuple[tuple[str, Action, type[BaseModel], Act, str], ...] = (
    ("assign", Action.ASSIGN, AssignIn, service.assign, "assign_petition"),
    ("decline", Action.DECLINE, DeclineRequest, service.act, "decline_petition"),
    ("transfer", Action.TRANSFER, TransferIn, service.transfer, "transfer_petition"),
    ("withdraw", Action.WITHDRAW, WithdrawIn, service.on_behalf, "withdraw_petition"),
    ("extension", Action.REQUEST_EXTENSION, ExtensionRequest, service.act, "request_extension"),
    ("complete", Action.COMPLETE, CompleteRequest, service.act, "complete_petition"),
    ("rating", Action.RATE, RateIn, service.on_behalf, "rate_petition"),
    ("review", Action.REQUEST_REVIEW, ReviewRequest, service.act, "request_review"),
    ("owner", Action.SET_OWNER, OwnerIn, service.set_owner, "set_owner"),
)


def _plain_action(
    action: Action, body_type: type[BaseModel], call: Act, name: str
) -> Callable[..., Awaitable[PetitionPublic]]:
    """The endpoint of one row: FastAPI reads the body's type and the case's dependency from
    the annotations, so they are set here, from the row, instead of written out nine times."""

    async def endpoint(
        body: BaseModel, case: Case, request: Request, response: Response
    ) -> PetitionPublic:
        reached_by = getattr(body, "reached_by", None)
        if reached_by is not None:  # the audit trail keeps how the petitioner was reached
            request.state.audit_note = f"reached_by={reached_by}"
        return _done(case, response, await call(case, body))

    endpoint.__annotations__ = {
        "body": body_type,
        "case": Annotated[Case, petition_for(action)],
        "request": Request,
        "response": Response,
        "return": PetitionPublic,
    }
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = body_type.__doc__
    return endpoint


for _path, _action, _request, _call, _name in PLAIN_ACTIONS:
    router.add_api_route(
        f"/{{petition_id}}/{_path}",
        reads_only(_plain_action(_action, _request, _call, _name)),
        methods=["POST"],
        response_model=PetitionPublic,
        responses=ACTION,
        name=_name,
    )
