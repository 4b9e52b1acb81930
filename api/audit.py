"""The audit trail (审计): every command through the API — accepted, refused or invalid — is
written once, after its answer is known, with who gave it and in which role. Reads are recorded
when refused (401, 403, 404) — an attempt to see what one may not is on record too — and
when they open a petitioner's file (查阅记录). Read rows are written in batches a moment later
(``ReadTrail``), so that reading never queues for the database's write lock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Auditor
from api.deps import SessionDep
from api.errors import DATABASE_FAILED
from api.schemas import MAX_OFFSET
from domain.access import Principal
from store.models import AuditEntry
from store.petitions import utcnow

log = logging.getLogger("petitionflow.audit")
COMMANDS = {"POST", "PUT", "PATCH", "DELETE"}
REFUSED_READS = {401, 403, 404}
# Reads that open a petitioner's file (查阅): on record even when they succeed, so the trail
# answers who has seen a citizen's name, phone and complaint.
RECORDED_READS = {
    *("get_petition", "notice_html", "notice_pdf", "document_html", "document_pdf"),
    *("console_petition", "console_notice_pdf", "console_document_pdf"),
}


# Refusals whose reason the trail keeps: the messages of these answers are ours (the access
# rule, the workflow's refusal) and name no personal data. A 422 is not among them: FastAPI
# echoes the offending input, which may be a petitioner's phone number.
EXPLAINED = {401, 403, 409, 429}
DETAIL_BYTES = 1000


def _reason(body: bytes) -> str | None:
    if not body:
        return None
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    return detail[:DETAIL_BYTES] if isinstance(detail, str) else None


def _outcome(status: int, method: str) -> str:
    if status < 400:
        return "done" if method in COMMANDS else "read"
    if status in (401, 403, 409, 429):
        return "refused"
    if status in (400, 404, 413, 422):
        return "invalid"
    return "failed"


class ReadTrail:
    """Read rows (查阅记录) queued and written together every ``FLUSH_SECONDS``, and at once
    before the trail is read or the API stops. A crash loses at most that moment of read rows;
    commands are never queued."""

    FLUSH_SECONDS = 0.5
    # Should the database stay unwritable, keep this many rows waiting, then drop the oldest
    # (logged): memory is not the place to outlive an outage.
    MAX_WAITING = 10_000

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions
        self._waiting: list[AuditEntry] = []
        self._lock = asyncio.Lock()

    def add(self, entry: AuditEntry) -> None:
        self._waiting.append(entry)
        if len(self._waiting) > self.MAX_WAITING:
            dropped = self._waiting.pop(0)
            log.error("read audit row dropped (database unwritable): %s", dropped.path)

    async def flush(self) -> None:
        """Write the rows waiting. A caller cancelled meanwhile (a request given up, the API
        stopping) does not cancel the write: the batch is already out of the queue, and a
        transaction abandoned halfway would lose it."""
        await asyncio.shield(self._write())

    async def _write(self) -> None:
        async with self._lock:
            batch, self._waiting = self._waiting, []
            if not batch:
                return
            try:
                async with self._sessions() as session:
                    session.add_all(batch)
                    await session.commit()
            except DATABASE_FAILED as exc:
                log.error("%d read audit rows not written yet: %s", len(batch), exc)
                self._waiting[:0] = [_fresh(e) for e in batch]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ReadTrail]:
        """Flush every moment while the API runs, and once more when it stops (after the write
        under way, if any)."""
        stopping = asyncio.Event()

        async def flushing() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.FLUSH_SECONDS)
                await self.flush()
                if stopping.is_set():
                    return

        task = asyncio.create_task(flushing())
        try:
            yield self
        finally:
            stopping.set()
            await task


def _fresh(entry: AuditEntry) -> AuditEntry:
    """A row not yet added to any session (a failed session keeps the ones it was given)."""
    columns = AuditEntry.__table__.columns.keys()
    return AuditEntry(**{c: getattr(entry, c) for c in columns if c != "id"})


class AuditMiddleware:
    """Pure ASGI, so the row is written after the endpoint has finished *and* closed its
    database session: on SQLite a session still open would hold the lock the row needs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app raises before answering
        body = bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status in EXPLAINED:
                body.extend(message.get("body", b"")[: DETAIL_BYTES - len(body)])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            await self._record(scope, status, _reason(bytes(body)))

    async def _record(self, scope: Scope, status: int, detail: str | None) -> None:
        path: str = scope["path"]
        # The console's requests (api.console) are on record like the API's.
        state = scope.get("state") or {}
        if not path.startswith("/api/") and not state.get("console"):
            return
        endpoint = scope.get("endpoint")
        action = getattr(endpoint, "__name__", "unknown")
        if (
            scope["method"] not in COMMANDS
            and status not in REFUSED_READS
            and action not in RECORDED_READS
        ):
            return
        # Filled in by the sign-in dependency (or, for a failed sign-in, the username tried).
        principal: Principal | None = state.get("principal")
        actor = principal.username if principal else state.get("actor", "anonymous")
        # What the endpoint adds to the record (how the petitioner was reached, 代为记录).
        note = state.get("audit_note")
        if note:
            detail = f"{detail} ({note})" if detail else note
        role = principal.role if principal else None
        # How the actor signed in: a password, or an API key (which one, issued by whom).
        via, key_id, issued_by = state.get("credential", (None, None, None))
        # The router has filled the scope in: which endpoint answered, with which path params.
        petition_id = scope.get("path_params", {}).get("petition_id")
        client = scope.get("client")
        entry = AuditEntry(
            at=utcnow(),
            actor=actor,
            role=role.value if role else None,
            action=action,
            method=scope["method"],
            path=path[:300],
            petition_id=petition_id[:64] if petition_id else None,
            client=client[0] if client else None,
            status=status,
            outcome=_outcome(status, scope["method"]),
            detail=detail,
            via=via,
            api_key_id=key_id,
            key_issued_by=issued_by,
        )
        if scope["method"] not in COMMANDS:
            scope["app"].state.read_trail.add(entry)
            return
        try:
            async with scope["app"].state.services.sessions() as session:
                session.add(entry)
                await session.commit()
        except DATABASE_FAILED as exc:
            # Logged loudly; an unwritable trail must not turn the answer into a 500.
            log.error("audit row not written for %s %s: %s", scope["method"], path, exc)


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    method: str
    path: str
    petition_id: str | None
    client: str | None
    status: int
    outcome: str
    detail: str | None = Field(
        description="why it was refused (401, 403, 409, 429); for a rating or withdrawal "
        "recorded for the petitioner, how they were reached (reached_by=phone)"
    )
    via: str | None = Field(default=None, description="how the actor signed in: password, api_key")
    api_key_id: int | None = Field(default=None, description="the API key used, if any")
    key_issued_by: str | None = Field(default=None, description="who issued that API key")


class AuditPage(BaseModel):
    items: list[AuditPublic]
    total: int


router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditPage)
async def read_audit(
    request: Request,
    session: SessionDep,
    _: Auditor,
    petition_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditPage:
    """The audit trail, newest first; auditors only. Read-only: no API changes it."""
    await request.app.state.read_trail.flush()  # the reads just made are on it too
    await session.commit()  # and a fresh snapshot sees them (the sign-in check began one)
    query = select(AuditEntry)
    count = select(func.count()).select_from(AuditEntry)
    if petition_id is not None:
        query = query.where(AuditEntry.petition_id == petition_id)
        count = count.where(AuditEntry.petition_id == petition_id)
    rows = await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return AuditPage(
        items=[AuditPublic.model_validate(r, from_attributes=True) for r in rows],
        total=int(await session.scalar(count) or 0),
    )
