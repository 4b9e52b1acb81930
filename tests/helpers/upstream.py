"""The fake upper-level petition information system (上级信访信息系统) replies are uploaded to:
in memory for the workflow tests, and over HTTP on 127.0.0.1 for the adapter and API tests."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from activities.upload import ReplyUpload, UploadReceipt, UpstreamRejected, UpstreamUnavailable
from tests.helpers.serving import served


class ScriptedUpstream:
    """In memory, answering each upload as scripted: "down" (try later), "refuse", "ack"; once
    the script is used up it acknowledges. No files, no threads, nothing to slow the clock."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.received: list[ReplyUpload] = []

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        answer = self.script.pop(0) if self.script else "ack"
        if answer == "down":
            raise UpstreamUnavailable("上级信访信息系统维护中")
        if answer == "refuse":
            raise UpstreamRejected("答复意见缺少办理单位印章", status=422)
        self.received.append(record)
        return UploadReceipt(
            ack_id=f"ACK-{len(self.received)}", received_at=datetime.now(UTC), target="scripted"
        )


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class UpperSystem:
    """Over HTTP: it is down (503) for the first ``failures_left`` uploads, then acknowledges,
    giving the same ack to a repeated Idempotency-Key. ``async with`` serves it on a free port
    of 127.0.0.1 and stops it after."""

    failures_left: int = 0
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    acks: dict[str, str] = field(default_factory=dict)
    # Holds /hang's answer back until the system stops, so the client's timeout fires first.
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/replies") -> str:
        return self.base_url + path

    def app(self) -> FastAPI:
        app = FastAPI()

        async def record(request: Request) -> None:
            self.received.append(
                Received(request.url.path, dict(request.headers), await request.body())
            )

        @app.post("/replies")
        async def replies(request: Request) -> JSONResponse:
            await record(request)
            if self.failures_left > 0:
                self.failures_left -= 1
                return JSONResponse({"detail": "系统维护中"}, status_code=503)
            key = request.headers["idempotency-key"]
            ack = self.acks.setdefault(key, f"SJ-{len(self.acks) + 1:04d}")
            return JSONResponse({"ack_id": ack})

        @app.post("/legacy")
        async def legacy(request: Request) -> JSONResponse:
            await record(request)
            return JSONResponse({"ack": 20250001})

        @app.post("/silent")
        async def silent(request: Request) -> JSONResponse:
            await record(request)
            return JSONResponse({"status": "ok"})

        @app.post("/status/{code}")
        async def status(code: int, request: Request) -> JSONResponse:
            await record(request)
            return JSONResponse({"detail": f"状态{code}：答复内容不完整"}, status_code=code)

        @app.post("/hang")
        async def hang(request: Request) -> JSONResponse:
            await record(request)
            await self.release.wait()
            return JSONResponse({"ack_id": "too-late"})

        return app

    async def __aenter__(self) -> UpperSystem:
        self._serving = served(self.app(), before_stop=self.release)
        self.base_url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._serving.__aexit__(None, None, None)
