"""The reply upload adapter against a real directory and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from activities.upload import (
    DirectoryUpstream,
    HttpUpstream,
    ReplyUpload,
    UpstreamRejected,
    UpstreamUnavailable,
    upstream_from_url,
)
from domain.vocabulary import Phase
from tests.helpers.upstream import UpperSystem

CLIENT_TIMEOUT = 0.2  # seconds HttpUpstream waits for the server that never answers
TOKEN = "s3cret-token"  # a test credential, sent to 127.0.0.1 only
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
REPLY = "经核查，某建筑公司已于3月5日结清拖欠的农民工工资共计12万元，信访人表示满意。"


def reply_record(**changes: Any) -> ReplyUpload:
    fields: dict[str, Any] = {
        "petition_id": "XF-2025-000123",
        "unit_id": "dongguan",
        "unit_name": "东莞镇人民政府",
        "category": "wage_dispute",
        "channel": "visit",
        "registered_at": datetime(2025, 3, 1, 9, 30, tzinfo=BEIJING),
        "accepted_at": datetime(2025, 3, 2, 10, 0, tzinfo=BEIJING),
        "replied_at": datetime(2025, 3, 6, 16, 45, tzinfo=BEIJING),
        "reply": REPLY,
        "summary": "工资拖欠",
    }
    return ReplyUpload(**{**fields, **changes})


# ---------------------------------------------------------------------------------------------
# The record


def test_record_refuses_unknown_fields() -> None:
    """extra="forbid": personal data of the petitioner cannot ride along by accident."""
    data = reply_record().model_dump() | {"petitioner_phone": "13800138000"}
    with pytest.raises(ValidationError, match="petitioner_phone"):
        ReplyUpload.model_validate(data)


# ---------------------------------------------------------------------------------------------
# DirectoryUpstream


async def test_directory_upload_writes_one_file_with_chinese_intact(tmp_path: Path) -> None:
    outbox = tmp_path / "exchange" / "outbox"  # missing: the upload creates it
    record = reply_record()

    receipt = await DirectoryUpstream(outbox).upload(record)

    written = outbox / "XF-2025-000123.json"
    assert list(outbox.iterdir()) == [written]
    raw = written.read_bytes()
    text = raw.decode("utf-8")
    assert REPLY in text and "东莞镇人民政府" in text  # as written, not \u escapes
    assert text.startswith('{\n  "petition_id": "XF-2025-000123",')  # indent 2
    assert ReplyUpload.model_validate(json.loads(text)) == record
    assert receipt.ack_id == hashlib.sha256(raw).hexdigest()[:16]
    assert receipt.target == f"dir:{outbox}"
    assert receipt.received_at.tzinfo is not None


async def test_directory_upload_is_idempotent(tmp_path: Path) -> None:
    upstream = DirectoryUpstream(tmp_path)
    record = reply_record()

    first = await upstream.upload(record)
    second = await upstream.upload(reply_record())

    assert second == first
    assert [p.name for p in tmp_path.iterdir()] == ["XF-2025-000123.json"]  # no temp file left


async def test_directory_upload_of_corrected_reply_replaces_the_file(tmp_path: Path) -> None:
    upstream = DirectoryUpstream(tmp_path)
    first = await upstream.upload(reply_record())

    corrected = reply_record(reply="经复核，补发工资已全部到账。")
    second = await upstream.upload(corrected)

    assert second.ack_id != first.ack_id
    [written] = tmp_path.iterdir()
    assert ReplyUpload.model_validate_json(written.read_bytes()) == corrected


async def test_directory_review_reply_sits_beside_the_handling_reply(tmp_path: Path) -> None:
    """A 复查 reply is a record of its own upstream: it once replaced the handling reply."""
    upstream = DirectoryUpstream(tmp_path)
    handling = reply_record()
    review = reply_record(phase=Phase.REVIEW, reply="复查意见：维持原处理意见。")

    await upstream.upload(handling)
    await upstream.upload(review)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "XF-2025-000123-review.json",
        "XF-2025-000123.json",
    ]
    first = ReplyUpload.model_validate_json((tmp_path / "XF-2025-000123.json").read_bytes())
    assert first == handling


@pytest.mark.parametrize("petition_id", ["../escaped", "a/b", ".hidden", ""])
async def test_directory_refuses_ids_that_are_not_file_names(
    tmp_path: Path, petition_id: str
) -> None:
    outbox = tmp_path / "outbox"
    with pytest.raises(UpstreamRejected, match="cannot name a file"):
        await DirectoryUpstream(outbox).upload(reply_record(petition_id=petition_id))
    assert list(tmp_path.rglob("*")) == []


async def test_directory_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(UpstreamUnavailable, match="cannot write"):
        await DirectoryUpstream(blocker / "outbox").upload(reply_record())


# ---------------------------------------------------------------------------------------------
# HttpUpstream against a real server


@pytest.fixture
async def upper() -> AsyncIterator[UpperSystem]:
    """The upper system served by uvicorn on a free port of 127.0.0.1, stopped after the test;
    it leaves no task running."""
    tasks_before = asyncio.all_tasks()
    async with UpperSystem() as system:
        yield system
    leaked = {
        task
        for task in asyncio.all_tasks() - tasks_before
        if task is not asyncio.current_task() and not task.done()
    }
    assert not leaked, f"tasks left running: {leaked}"


async def test_http_upload_retries_through_503_then_is_acknowledged(upper: UpperSystem) -> None:
    upper.failures_left = 2
    upstream = HttpUpstream(upper.url("/replies"), token=TOKEN)
    record = reply_record()

    for _attempt in range(2):
        with pytest.raises(UpstreamUnavailable, match="503") as failure:
            await upstream.upload(record)
        assert "系统维护中" in str(failure.value)
    receipt = await upstream.upload(record)

    assert receipt.ack_id == "SJ-0001"
    assert receipt.target == upper.url("/replies")
    assert len(upper.received) == 3
    for request in upper.received:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["idempotency-key"] == "XF-2025-000123"
        assert request.headers["content-type"].startswith("application/json")
        assert REPLY.encode("utf-8") in request.body  # raw UTF-8 on the wire, not \u escapes
        assert ReplyUpload.model_validate_json(request.body) == record


async def test_http_repeated_upload_gets_the_same_ack(upper: UpperSystem) -> None:
    upstream = HttpUpstream(upper.url("/replies"))
    first = await upstream.upload(reply_record())
    again = await upstream.upload(reply_record())
    other = await upstream.upload(reply_record(petition_id="XF-2025-000124"))

    assert again.ack_id == first.ack_id
    assert other.ack_id != first.ack_id
    assert "authorization" not in upper.received[0].headers  # no token, no header


async def test_http_review_reply_has_its_own_idempotency_key(upper: UpperSystem) -> None:
    upstream = HttpUpstream(upper.url("/replies"))
    first = await upstream.upload(reply_record())
    review = await upstream.upload(reply_record(phase=Phase.RE_REVIEW, reply="复核意见"))

    assert review.ack_id != first.ack_id  # not taken for a repeat of the handling reply
    keys = [request.headers["idempotency-key"] for request in upper.received]
    assert keys == ["XF-2025-000123", "XF-2025-000123-re_review"]


async def test_http_accepts_legacy_ack_field(upper: UpperSystem) -> None:
    receipt = await HttpUpstream(upper.url("/legacy")).upload(reply_record())
    assert receipt.ack_id == "20250001"


async def test_http_2xx_without_ack_is_unavailable(upper: UpperSystem) -> None:
    with pytest.raises(UpstreamUnavailable, match="without an ack id"):
        await HttpUpstream(upper.url("/silent")).upload(reply_record())


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
async def test_http_refusal_is_rejected(upper: UpperSystem, code: int) -> None:
    with pytest.raises(UpstreamRejected, match=f"rejected petition XF-2025-000123: {code}") as e:
        await HttpUpstream(upper.url(f"/status/{code}"), token=TOKEN).upload(reply_record())
    assert e.value.status == code
    assert "答复内容不完整" in e.value.body
    assert TOKEN not in str(e.value)


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
async def test_http_overload_or_server_error_is_unavailable(upper: UpperSystem, code: int) -> None:
    with pytest.raises(UpstreamUnavailable, match=f"answered {code}"):
        await HttpUpstream(upper.url(f"/status/{code}")).upload(reply_record())


async def test_http_timeout_is_unavailable(upper: UpperSystem) -> None:
    upstream = HttpUpstream(upper.url("/hang"), timeout=CLIENT_TIMEOUT)
    with pytest.raises(UpstreamUnavailable, match="Timeout"):
        await upstream.upload(reply_record())
    assert len(upper.received) == 1


async def test_http_refused_connection_is_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Bound but not listening: the port stays ours, and connecting to it is refused.
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        upstream = HttpUpstream(f"http://127.0.0.1:{port}/replies")
        with pytest.raises(UpstreamUnavailable, match="ConnectError"):
            await upstream.upload(reply_record())


async def test_http_receipt_target_hides_credentials(upper: UpperSystem) -> None:
    url = upper.url("/replies").replace("http://", "http://bureau:pa55@")
    receipt = await HttpUpstream(url).upload(reply_record())
    assert receipt.target == upper.url("/replies")


# ---------------------------------------------------------------------------------------------
# upstream_from_url


@pytest.mark.parametrize(
    ("target", "directory"),
    [
        ("file:///srv/petitionflow/outbox", Path("/srv/petitionflow/outbox")),
        ("file://localhost/srv/outbox", Path("/srv/outbox")),
        ("file:///srv/%E4%B8%8A%E6%8A%A5", Path("/srv/上报")),
        ("/srv/petitionflow/outbox", Path("/srv/petitionflow/outbox")),
        ("var/outbox", Path("var/outbox")),
    ],
)
def test_upstream_from_url_picks_a_directory(target: str, directory: Path) -> None:
    upstream = upstream_from_url(target)
    assert isinstance(upstream, DirectoryUpstream)
    assert upstream.directory == directory


@pytest.mark.parametrize(
    "target", ["http://upper.example/api/replies", "https://upper.example:8443/api/replies"]
)
def test_upstream_from_url_picks_http(target: str) -> None:
    upstream = upstream_from_url(target, timeout=3.0, token=TOKEN)
    assert isinstance(upstream, HttpUpstream)
    assert upstream.url == target
    assert upstream.timeout == 3.0


@pytest.mark.parametrize(
    "target",
    [
        "ftp://upper.example/replies",
        "",
        "   ",
        "file://fileserver/share",
        "file:relative/dir",
        "https:///x",
        "mailto:a@b",
    ],
)
def test_upstream_from_url_refuses_anything_else(target: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(target))):
        upstream_from_url(target)
