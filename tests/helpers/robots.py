"""Fake providers of the pushed channels, over real HTTP on 127.0.0.1, each speaking and checking
its own format: an SMS gateway (the request shape README documents, deduplicating by out id), a
WeCom group robot (checks the key) and a DingTalk custom robot (recomputes the signature and
refuses a timestamp more than an hour off). ``async with Providers() as p`` serves all three."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.helpers.serving import served

SIGNATURE_MAX_AGE_MS = 3600 * 1000  # DingTalk refuses a timestamp more than an hour away


@dataclass
class Providers:
    """Robots known by key/token; ``*_script`` lists answers to give first (an HTTP status for
    the gateway, an errcode for a robot), then each answers normally."""

    sms_token: str = "gateway-token"
    wecom_keys: set[str] = field(default_factory=lambda: {"wecom-dongguan"})
    # DingTalk access token → its signing secret (None: a robot without 加签).
    dingtalk_robots: dict[str, str | None] = field(
        default_factory=lambda: {"dingtalk-dongguan": "SECdongguan0123456789"}
    )
    sms_script: list[int] = field(default_factory=list)
    wecom_script: list[int] = field(default_factory=list)
    dingtalk_script: list[int] = field(default_factory=list)
    base_url: str = ""
    # What each accepted: an SMS per new out id; the robots' posted bodies.
    sms: dict[str, dict[str, Any]] = field(default_factory=dict)
    sms_requests: int = 0
    wecom: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    dingtalk: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def sms_url(self) -> str:
        return f"{self.base_url}/sms/send"

    def wecom_url(self, key: str = "wecom-dongguan") -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={key}"

    def dingtalk_url(self, token: str = "dingtalk-dongguan") -> str:
        return f"{self.base_url}/robot/send?access_token={token}"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/sms/send")
        async def sms(request: Request) -> JSONResponse:
            self.sms_requests += 1
            if self.sms_script:
                status = self.sms_script.pop(0)
                return JSONResponse({"code": status, "message": "网关维护中"}, status_code=status)
            if request.headers.get("authorization") != f"Bearer {self.sms_token}":
                return JSONResponse({"message": "unauthorised"}, status_code=401)
            body = await request.json()
            problem = _sms_problem(body, request.headers.get("idempotency-key"))
            if problem:
                return JSONResponse({"message": problem}, status_code=400)
            # A second request with an out id seen before is no second SMS.
            accepted = self.sms.setdefault(body["out_id"], body | {"n": len(self.sms) + 1})
            return JSONResponse({"message_id": f"SMS-{accepted['n']:04d}"})

        @app.post("/sms/hang")
        async def hang() -> JSONResponse:
            await self.release.wait()
            return JSONResponse({"message_id": "too-late"})

        @app.post("/cgi-bin/webhook/send")
        async def wecom(request: Request, key: str = "") -> JSONResponse:
            if key not in self.wecom_keys:
                return _errcode(93000, "invalid webhook url")
            if self.wecom_script:
                return _errcode(self.wecom_script.pop(0), "scripted")
            body = await request.json()
            if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
                return _errcode(40008, "invalid message type")
            if len(body["text"].get("content", "").encode()) > 2048:
                return _errcode(40058, "content exceed max length")
            self.wecom.append((key, body))
            return _errcode(0, "ok")

        @app.post("/robot/send")
        async def dingtalk(
            request: Request, access_token: str = "", timestamp: str = "", sign: str = ""
        ) -> JSONResponse:
            if access_token not in self.dingtalk_robots:
                return _errcode(300001, "token is not exist")
            secret = self.dingtalk_robots[access_token]
            if secret is not None:
                if not timestamp.isdigit():
                    return _errcode(310000, "invalid timestamp")
                if abs(time.time() * 1000 - int(timestamp)) > SIGNATURE_MAX_AGE_MS:
                    return _errcode(310000, "invalid timestamp")
                expected = _signature(secret, timestamp)
                if not hmac.compare_digest(sign, expected):
                    return _errcode(310000, "sign not match")
            if self.dingtalk_script:
                return _errcode(self.dingtalk_script.pop(0), "scripted")
            body = await request.json()
            if body.get("msgtype") != "text" or "content" not in body.get("text", {}):
                return _errcode(40035, "缺少参数 json")
            self.dingtalk.append((access_token, body))
            return _errcode(0, "ok")

        return app

    async def __aenter__(self) -> Providers:
        self._serving = served(self.app(), before_stop=self.release)
        self.base_url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._serving.__aexit__(None, None, None)


def _errcode(code: int, message: str) -> JSONResponse:
    # Both robots answer 200 and say in errcode whether they posted.
    return JSONResponse({"errcode": code, "errmsg": message})


def _signature(secret: str, timestamp: str) -> str:
    """DingTalk's check, computed here independently of the sender's code. FastAPI has
    URL-decoded the query already, so this is the base64 itself."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _sms_problem(body: Any, idempotency_key: str | None) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    wanted = {"phone": str, "template_id": str, "signature": str, "params": dict, "out_id": str}
    for name, kind in wanted.items():
        if not isinstance(body.get(name), kind):
            return f"{name} missing or not a {kind.__name__}"
    if set(body) != set(wanted):
        return f"unknown fields {sorted(set(body) - set(wanted))}"
    if not (len(body["phone"]) == 11 and body["phone"].isdigit()):
        return "phone must be 11 digits"
    if body["template_id"] != "SMS_PETITION_001":
        return f"unknown template {body['template_id']}"
    if not isinstance(body["params"].get("text"), str):
        return "params.text missing"
    if idempotency_key != body["out_id"]:
        return "Idempotency-Key must equal out_id"
    return None
