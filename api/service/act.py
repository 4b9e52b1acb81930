"""Acting on a petition: each action becomes the workflow's update, after the checks only the
directory can make; the workflow's refusal comes back in its own words.

Every action has an id (``action_id``): the client's Idempotency-Key made the Temporal update
id, so a retried request gets the first answer, or a fresh one. An answer that does not come in
time is no failure: the action may well have been applied, so the caller is told where to read
its outcome (Pending, 202) rather than that the engine is unavailable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import (
    Invalid,
    NotAllowed,
    NotFound,
    Pending,
    Refused,
    ServiceError,
    Unavailable,
)
from api.schemas import (
    AssignIn,
    ExtensionDecisionIn,
    OwnerIn,
    PetitionPublic,
    RateIn,
    TransferIn,
    WithdrawIn,
)
from api.service.case import Case, responsible_unit
from api.service.views import petition_public
from domain.access import LEADER_ROLES, Action
from domain.contracts import (
    AcceptRequest,
    AssignRequest,
    ExtensionDecision,
    OwnerRequest,
    Person,
    PetitionState,
    RateRequest,
    TransferRequest,
    WithdrawRequest,
)
from domain.vocabulary import Role
from store import directory
from store.models import Person as PersonRow
from workflows.petition import PetitionWorkflow

# The workflow update each action on a petition is.
UPDATES: dict[Action, Any] = {
    Action.ASSIGN: PetitionWorkflow.assign,
    Action.ACCEPT: PetitionWorkflow.accept,
    Action.DECLINE: PetitionWorkflow.decline,
    Action.TRANSFER: PetitionWorkflow.transfer,
    Action.WITHDRAW: PetitionWorkflow.withdraw,
    Action.REQUEST_EXTENSION: PetitionWorkflow.request_extension,
    Action.DECIDE_EXTENSION: PetitionWorkflow.decide_extension,
    Action.COMPLETE: PetitionWorkflow.complete,
    Action.RATE: PetitionWorkflow.rate,
    Action.REQUEST_REVIEW: PetitionWorkflow.request_review,
    Action.SET_OWNER: PetitionWorkflow.set_owner,
}


# Action ids are made from the reader and their key, so one reader's key never meets another's.
_KEYS = uuid.UUID("6f1d1c2e-0a53-4c8e-9a43-3b7f2c1d9e10")
ACTION_ID_PATTERN = r"^[a-z_]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def action_id(case: Case) -> str:
    """The Temporal update id of the case's action: the same for a retry with the same
    Idempotency-Key by the same reader, new otherwise."""
    assert case.action is not None
    key = case.idempotency_key
    made = uuid.uuid5(_KEYS, f"{case.reader.username}\n{key}") if key else uuid.uuid4()
    return f"{case.action.value}-{made}"


async def act(case: Case, request: BaseModel) -> PetitionPublic:
    """Give the petition's workflow the case's action with ``request`` and answer with the
    state it leads to (the workflow's own, as the update returned it). The workflow's refusal
    is Refused with its own reason; a closed workflow is Refused; no answer in time is Pending
    (the outcome is read later under the action's id); Unavailable only when Temporal cannot
    be reached."""
    assert case.action is not None, "a case to act on names its action"
    row = await case.petition()
    handle = await case.workflow()
    update_id = case.action_id = action_id(case)
    definition = UPDATES[case.action]

    def update() -> Awaitable[Any]:
        return handle.execute_update(
            definition, request, id=update_id, rpc_timeout=case.rpc_timeout
        )

    # The workflow has closed: the petition is finished, nothing more can happen. Or it has
    # not started yet (Temporal was down at registration): the worker's sweep starts it.
    closed = (
        Refused(f"petition {row.id} is closed ({row.stage})")
        if row.workflow_started
        else Refused(
            f"petition {row.id} is registered but its workflow has not started yet (the workflow "
            "engine was unreachable): the worker starts it within a minute; send this again then"
        )
    )
    return petition_public(row, case.reader, await _answer(case, update_id, update, closed))


async def outcome(case: Case, update_id: str) -> PetitionPublic:
    """What became of an action answered Pending: the state it led to (it was applied), its
    refusal (Refused), still Pending, or NotFound when the engine knows no such action on this
    petition (it never arrived: send it again with the same Idempotency-Key)."""
    row = await case.petition()
    handle = await case.workflow()

    def result() -> Awaitable[Any]:
        return handle.get_update_handle(update_id, result_type=PetitionState).result(
            rpc_timeout=case.rpc_timeout
        )

    unknown = NotFound(
        f"no action {update_id} on petition {row.id} is known to the workflow engine: it was "
        "not applied (or the petition has closed since)"
    )
    return petition_public(row, case.reader, await _answer(case, update_id, result, unknown))


# Refusals by the engine that say "not now" (a workflow task failed and is being retried, the
# namespace is rate-limited): the action was not admitted, so asking again is safe.
_NOT_NOW = (
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
)


async def _answer(
    case: Case, update_id: str, ask: Callable[[], Awaitable[Any]], not_found: ServiceError
) -> PetitionState:
    """The update's answer within the RPC timeout, or why not: its refusal (Refused), no
    answer in time (Pending, not a failure), ``not_found``, or Temporal unreachable. A "not
    now" from the engine is asked again, with the same update id, until the time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + case.rpc_timeout.total_seconds()
    pause = 0.05
    while True:
        try:
            state: PetitionState = await asyncio.wait_for(
                ask(), timeout=max(deadline - loop.time(), 0.001)
            )
            return state
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            why = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise Refused(why) from exc
        except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError) as exc:
            raise Pending(case.petition_id, update_id) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise not_found from exc
            if exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
                raise Pending(case.petition_id, update_id) from exc
            if exc.status in _NOT_NOW and loop.time() + pause < deadline:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if exc.status in _NOT_NOW:
                raise Unavailable(
                    f"petition {case.petition_id} cannot take actions right now "
                    f"({exc.message}); nothing was applied: send it again with the same "
                    "Idempotency-Key"
                ) from exc
            raise Unavailable(f"workflow engine unavailable: {exc.message}") from exc


async def assign(case: Case, body: AssignIn) -> PetitionPublic:
    """交办 to a responsible unit."""
    await case.petition()
    await responsible_unit(case.session, body.unit_id)
    return await act(case, AssignRequest(unit_id=body.unit_id))


async def transfer(case: Case, body: TransferIn) -> PetitionPublic:
    """转办 to another responsible unit, with the reason."""
    await case.petition()
    await responsible_unit(case.session, body.unit_id)
    return await act(case, TransferRequest(unit_id=body.unit_id, reason=body.reason))


async def accept(case: Case, request: AcceptRequest) -> PetitionPublic:
    """受理 by the unit, with one of its handlers named (by default its first)."""
    row = await case.petition()
    if request.handler_id is not None:
        handlers = await directory.role_holders(case.session, row.unit_id or "", Role.HANDLER.value)
        if request.handler_id not in {p.id for p, _ in handlers}:
            raise Invalid(
                "handler_id",
                "unknown_handler",
                f"{request.handler_id!r} is not a handler of unit {row.unit_id}",
                request.handler_id,
            )
    return await act(case, request)


async def decide_extension(case: Case, body: ExtensionDecisionIn) -> PetitionPublic:
    """The unit head's decision on an extension: the approver is the reader, as the
    directory names them now."""
    row = await case.petition()
    reader = case.reader
    if body.approver_id is not None and body.approver_id != reader.person_id:
        raise NotAllowed(f"{reader.username} decides as themself, not as {body.approver_id}")
    head = await case.session.get(PersonRow, reader.person_id)
    if head is None:  # the account was removed while the request ran
        raise NotAllowed(f"{reader.username} is no longer in the directory")
    approver = _in_post(head, Role.UNIT_HEAD, row.unit_id or "")
    return await act(
        case, ExtensionDecision(approve=body.approve, approver=approver, note=body.note)
    )


async def on_behalf(case: Case, body: RateIn | WithdrawIn) -> PetitionPublic:
    """回访 or 撤回, recorded by the bureau for the petitioner: the recorder is the reader in
    their dispatcher's post, and how the petitioner was reached goes with it."""
    await case.petition()
    reader = case.reader
    person = await case.session.get(PersonRow, reader.person_id)
    bureau = await directory.bureau_unit_id(case.session)
    if person is None or bureau is None:  # the account was removed while the request ran
        raise NotAllowed(f"{reader.username} is no longer in the directory")
    recorder = _in_post(person, Role.BUREAU_DISPATCHER, bureau)
    fields = body.model_dump(exclude_unset=False)
    request: RateRequest | WithdrawRequest = (
        RateRequest(**fields, recorded_by=recorder)
        if isinstance(body, RateIn)
        else WithdrawRequest(**fields, recorded_by=recorder)
    )
    return await act(case, request)


async def set_owner(case: Case, body: OwnerIn) -> PetitionPublic:
    """领导包案: a leader of the directory owns the case: a unit's leader, a county contact
    leader or a county principal leader (县主要领导)."""
    await case.petition()
    roles = sorted(r.value for r in LEADER_ROLES)
    found = await directory.leader(case.session, body.person_id, roles)
    if found is None:
        raise Invalid(
            "person_id",
            "not_a_leader",
            f"{body.person_id!r} holds no leader post in the directory",
            body.person_id,
        )
    person, post = found
    return await act(case, OwnerRequest(owner=_in_post(person, Role(post.role), post.unit_id)))


def _in_post(person: PersonRow, role: Role, unit_id: str) -> Person:
    """A person of the directory as the workflow names them: in the post they act in."""
    return Person(
        person_id=person.id, name=person.name, title=person.title, role=role, unit_id=unit_id
    )
