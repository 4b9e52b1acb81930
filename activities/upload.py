"""Upload a petition's reply (答复) to the upper-level petition information system.

The upper system is the 上级信访信息系统, where the county's answered petitions are reported.

Two transports share one protocol, :class:`UpstreamSystem`:

* :class:`DirectoryUpstream` drops one JSON file per reply into a directory, for sites where
  the upper system is fed by an exchange folder (前置机/文件交换) rather than an API;
* :class:`HttpUpstream` POSTs the same JSON to the upper system's endpoint.

Both are safe to call again with the same record, because the activity that wraps them is retried
by Temporal and may run after an upload that did succeed but whose acknowledgement was lost.
Failures come in two kinds so that the retry policy can tell them apart: :class:`UpstreamRejected`
(the upper system refused the record; retrying the same record cannot help, so the activity should
list it in ``non_retryable_error_types``) and :class:`UpstreamUnavailable` (try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict

from activities.channels.http import tls_context
from domain.vocabulary import Phase

__all__ = [
    "DirectoryUpstream",
    "HttpUpstream",
    "ReplyUpload",
    "UploadReceipt",
    "UpstreamRejected",
    "UpstreamSystem",
    "UpstreamUnavailable",
    "upstream_from_url",
]

# Statuses by which the upper system says "this record is wrong" (malformed, unauthorised,
# unknown endpoint, conflicting duplicate, failed validation): resending it unchanged would only be
# refused again.
REJECTED_STATUSES = frozenset({400, 401, 403, 404, 409, 422})
# How much of a refusal's body goes into the error: enough to read the reason in the Temporal UI,
# not so much that an HTML error page floods the workflow history.
BODY_EXCERPT_CHARS = 500
# Group may read the exchange folder's files (the transfer agent usually runs under its own
# account in a shared group); others may not, the files carry petitioners' affairs.
FILE_MODE = 0o640


class ReplyUpload(BaseModel):
    """What the upper system receives about one answered petition."""

    model_config = ConfigDict(extra="forbid")

    petition_id: str
    unit_id: str
    unit_name: str
    category: str
    channel: str
    registered_at: datetime
    accepted_at: datetime | None
    replied_at: datetime
    reply: str
    summary: str
    # Which round's reply (办理, 复查, 复核): each is a record of its own upstream.
    phase: Phase = Phase.HANDLING

    @property
    def upload_key(self) -> str:
        """The record's name upstream: the petition number and the round, so a 复查 reply sits
        beside the handling reply instead of replacing it. The handling reply keeps the bare
        number it has always been uploaded under, so replies delivered before stay the same."""
        if self.phase == Phase.HANDLING:
            return self.petition_id
        return f"{self.petition_id}-{self.phase.value}"


class UploadReceipt(BaseModel):
    """The upper system's acknowledgement, kept as proof that the reply was handed over."""

    ack_id: str
    received_at: datetime
    target: str


class UpstreamRejected(Exception):
    """The upper system refused the record: a permanent failure, retrying will not help."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class UpstreamUnavailable(Exception):
    """The upper system could not be reached or did not acknowledge: retry later."""


class UpstreamSystem(Protocol):
    async def upload(self, record: ReplyUpload) -> UploadReceipt: ...


class DirectoryUpstream:
    """Writes ``<upload_key>.json`` into ``directory``. The file's name is the petition number
    and round, so uploading the same reply again replaces rather than duplicates, and the
    acknowledgement is the hash of the content, so the same record always yields the same ack."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @property
    def target(self) -> str:
        return f"dir:{self.directory.absolute()}"

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        content = _canonical_json(record)
        name = _file_name(record.upload_key)
        try:
            # File I/O blocks; keep it off the event loop the worker's other activities share.
            mtime = await asyncio.to_thread(self._write, name, content)
        except OSError as exc:
            # Full disk, missing mount, permissions: the operator can fix these and the retried
            # activity then succeeds, so they are not the record's fault.
            raise UpstreamUnavailable(f"cannot write {name} to {self.target}: {exc}") from exc
        return UploadReceipt(
            ack_id=hashlib.sha256(content).hexdigest()[:16],
            received_at=datetime.fromtimestamp(mtime, UTC),
            target=self.target,
        )

    def _write(self, name: str, content: bytes) -> float:
        """Put ``content`` at ``directory/name`` atomically; return the file's modification time."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / name
        try:
            if final.read_bytes() == content:
                # Already delivered: leave the file (and its time, our receipt's time) untouched,
                # so a transfer agent watching the folder does not see it change again.
                return final.stat().st_mtime
        except FileNotFoundError:
            pass
        # The temporary file lives in the same directory so that os.replace is a rename within one
        # file system: a reader of the folder sees either no file or the whole file, never a part.
        # Its name starts with a dot and ends in .tmp so agents that pick up *.json ignore it.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                # Durable before it is visible: a crash after the rename must not leave an empty
                # file that we already acknowledged.
                os.fsync(handle.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(self.directory)
        return final.stat().st_mtime


class HttpUpstream:
    """POSTs the record as JSON to ``url``. The ``Idempotency-Key`` header carries the record's
    upload key (petition number and round) so that the upper system can recognise a retry of an
    upload it already accepted, and tell a 复查 reply from the handling reply."""

    def __init__(self, url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._token = token  # private: never part of a receipt, an error or a log line

    @property
    def target(self) -> str:
        return _without_credentials(self.url)

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": record.upload_key,
        }
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        # pydantic writes UTF-8 without \u escapes, so the Chinese text travels as written.
        body = record.model_dump_json().encode("utf-8")
        try:
            # A client per upload: uploads are rare (one per answered petition), and a client
            # bound to no event loop cannot outlive the activity that used it. Its TLS context
            # is shared: building one loads the CA bundle.
            async with httpx.AsyncClient(timeout=self.timeout, verify=tls_context()) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.RequestError as exc:
            # Refused connection, DNS failure, timeout, broken response: the network's fault.
            raise UpstreamUnavailable(
                f"{self.target} unreachable: {type(exc).__name__}: {exc}"
            ) from exc

        status = response.status_code
        if 200 <= status < 300:
            ack_id = _ack_id(response)
            if ack_id is None:
                # Accepted but not acknowledged: without an ack there is no proof of delivery.
                # Sending again is harmless thanks to the Idempotency-Key.
                raise UpstreamUnavailable(
                    f"{self.target} answered {status} without an ack id: {_excerpt(response)}"
                )
            return UploadReceipt(ack_id=ack_id, received_at=datetime.now(UTC), target=self.target)
        if status in REJECTED_STATUSES:
            excerpt = _excerpt(response)
            raise UpstreamRejected(
                f"{self.target} rejected petition {record.petition_id}: {status} {excerpt}",
                status=status,
                body=excerpt,
            )
        # 429, 5xx, and anything else we do not know to be the record's fault (a redirect to a
        # maintenance page, 408, …): retry rather than drop a reply the upper system never saw.
        raise UpstreamUnavailable(
            f"{self.target} answered {status} for petition {record.petition_id}: "
            f"{_excerpt(response)}"
        )


def upstream_from_url(
    target: str, *, timeout: float = 10.0, token: str | None = None
) -> UpstreamSystem:
    """The transport a configuration value names: ``file:///abs/dir`` or a plain path for a
    directory, ``http(s)://…`` for an endpoint. ``timeout`` and ``token`` apply to HTTP only."""
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ValueError(f"upstream target {target!r} has no host")
        return HttpUpstream(target, timeout=timeout, token=token)
    if scheme == "file":
        # Only local files: file://otherhost/... would silently write somewhere unexpected.
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"upstream target {target!r} is not a local absolute file:// URL")
        return DirectoryUpstream(Path(unquote(parts.path)))
    if scheme == "" and target.strip():
        return DirectoryUpstream(Path(target))
    raise ValueError(
        f"upstream target {target!r} is neither a directory (file:///…, a path) nor an "
        "http(s):// URL"
    )


def _canonical_json(record: ReplyUpload) -> bytes:
    """The file content, and the input of its ack: same record, same bytes."""
    text = json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


def _file_name(upload_key: str) -> str:
    """``<upload_key>.json``, refusing keys that would leave the directory or hide the file."""
    if (
        not upload_key
        or upload_key.startswith(".")
        or any(sep in upload_key for sep in ("/", "\\", "\0"))
    ):
        raise UpstreamRejected(f"petition id {upload_key!r} cannot name a file")
    return f"{upload_key}.json"


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable. POSIX only: Windows cannot open a directory this way, and
    its renames are journaled by NTFS anyway."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ack_id(response: httpx.Response) -> str | None:
    """The acknowledgement number of a 2xx body, under ``ack_id`` or, in older versions of the
    upper system, ``ack``; None when the body carries none."""
    try:
        payload: Any = response.json()
    except ValueError:  # not JSON (json.JSONDecodeError), or not decodable text
        return None
    if not isinstance(payload, dict):
        return None
    for key in ("ack_id", "ack"):
        value = payload.get(key)
        # bool is an int, but True is no acknowledgement number.
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip()
    if len(text) > BODY_EXCERPT_CHARS:
        return text[:BODY_EXCERPT_CHARS] + "…"
    return text


def _without_credentials(url: str) -> str:
    """``url`` without ``user:password@``: receipts and errors end up in workflow history."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
