"""What the service layer refuses with, in the domain's words, and how the JSON front answers
each refusal: one exception a reason, one status a kind, in FastAPI's own error shape, so a
later HTML front catches the same exceptions and renders them its own way."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.access import PETITIONER_SIDE_RULE, SERVICE_RULE, Action, Principal


class ServiceError(Exception):
    """A request the service layer will not carry out; ``detail`` says why."""

    status: ClassVar[int] = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """No such petition, or not one the reader may see: both answer alike, so not even a
    petition's existence leaks."""

    status = 404


class NotAllowed(ServiceError):
    """The reader's posts do not allow the action (权限); the message names the rule."""

    status = 403


class Refused(ServiceError):
    """The petition's stage refuses the action (the workflow's own reason), or it has closed."""

    status = 409


class Unavailable(ServiceError):
    """The workflow engine cannot be reached or did not answer in time."""

    status = 503


class Pending(ServiceError):
    """The action was handed to the workflow and its answer did not come in time: it may have
    been applied. Not an error (202): the outcome is read at ``location``, or the request sent
    again with the same Idempotency-Key."""

    status = 202

    def __init__(self, petition_id: str, action_id: str) -> None:
        self.location = f"/api/v1/petitions/{petition_id}/actions/{action_id}"
        super().__init__(
            {
                "status": "pending",
                "action_id": action_id,
                "outcome": self.location,
                "message": f"petition {petition_id} has not answered yet; the action may have "
                "been applied. Read its outcome, or repeat the request with the same "
                "Idempotency-Key.",
            }
        )


class Invalid(ServiceError):
    """A value pydantic cannot check (an unknown unit, handler or leader, a key reused): a 422
    like FastAPI's validation errors, naming the field (``where``: body, query, header), so a
    client handles both alike."""

    status = 422

    def __init__(self, field: str, kind: str, message: str, value: Any, where: str = "body"):
        super().__init__([{"loc": [where, field], "type": kind, "msg": message, "input": value}])


# What the database's drivers raise when it cannot be reached: SQLite's and the pool's errors
# as SQLAlchemy wraps them, and asyncpg's connection errors, which reach us unwrapped when a
# new connection is refused (PostgreSQL stopped, restarting, the network gone).
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    socket.gaierror,
)
# Whatever a write to the database may fail with, when a failure must not become a 500.
DATABASE_FAILED: tuple[type[Exception], ...] = (SQLAlchemyError, *DATABASE_UNREACHABLE)


def utc_moment(field: str, value: datetime | None) -> datetime | None:
    """A moment from a query, in UTC; Invalid when it names no time zone (which one would it
    be?) or has no UTC moment (year 1 at +08:00)."""
    if value is None:
        return None
    try:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-05-01T09:00:00+08:00")
        return value.astimezone(UTC)  # the store keeps UTC
    except (ValueError, OverflowError) as exc:
        raise Invalid(field, "datetime", str(exc), value.isoformat(), where="query") from exc


class Answer(JSONResponse):
    """JSON that any input echoed back can be written in: a lone surrogate ("\\ud800", no
    character of its own) is sent as its escape instead of failing the answer with a 500."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


async def answer_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)  # registered for ServiceError only
    headers = {"Location": exc.location} if isinstance(exc, Pending) else None
    return Answer({"detail": exc.detail}, status_code=exc.status, headers=headers)


async def _unreadable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for it only
    # FastAPI's own answer, written so that a body holding a lone surrogate gets its 422.
    return Answer({"detail": jsonable_encoder(exc.errors())}, status_code=422)


def answer_in_json(app: FastAPI) -> None:
    """The JSON front answers every ServiceError as FastAPI answers an HTTPException."""
    app.add_exception_handler(ServiceError, answer_service_error)
    app.add_exception_handler(RequestValidationError, _unreadable)


# Why an action is refused, in the words an officer understands.
_WHO_MAY = {
    Action.REGISTER: "only the bureau registers petitions",
    Action.ASSIGN: "only the bureau assigns petitions (交办)",
    Action.SET_OWNER: "only the bureau records a case owner (包案)",
    Action.ADMINISTER_DIRECTORY: "only the bureau maintains the directory and API keys",
    Action.READ_AUDIT: "only auditors read the audit trail",
    Action.DECIDE_EXTENSION: "only the unit's head approves an extension (信访条例第三十三条)",
    Action.RATE: PETITIONER_SIDE_RULE,
    Action.WITHDRAW: PETITIONER_SIDE_RULE,
}


def require_reader(principal: Principal) -> None:
    """Raise NotAllowed unless ``principal`` reads at all (a person, no service account)."""
    if not principal.reads:
        raise NotAllowed(f"{principal.username} ({principal.role}) may not read: {SERVICE_RULE}")


def require(principal: Principal, action: Action, unit_id: str | None = None) -> None:
    """Raise NotAllowed, naming the rule, unless ``principal`` may give ``action`` (at the
    petition's ``unit_id`` where it concerns one)."""
    if principal.may(action, unit_id):
        return
    role = principal.role.value if principal.role else "no post"
    where = f" at unit {unit_id}" if unit_id else ""
    why = (
        SERVICE_RULE
        if principal.service_role
        else _WHO_MAY.get(action, "only the unit's accountable chain or the bureau may")
    )
    raise NotAllowed(f"{principal.username} ({role}) may not {action.value}{where}: {why}")
