"""The API's codec endpoint (Temporal's codec server protocol): the bureau and auditors read
workflow histories in clear, audited; nobody else, and no browser origin but the Web UI's."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter

from core.codec import EncryptionCodec
from core.temporal import data_converter
from domain.contracts import ExtensionRequest
from tests.helpers.api import ApiFactory
from tests.helpers.store import Templates

V1 = "/api/v1"
DECODE = f"{V1}/codec/decode"
UI = "http://127.0.0.1:8233"
REQUEST = ExtensionRequest(days=20, reason="需要委托第三方鉴定")


@pytest.fixture
async def store_url(templates: Templates, tmp_path: Path) -> str:
    """SQLite only: the endpoint touches the database for the sign-in alone."""
    return await templates.sqlite_copy(tmp_path / "petitionflow.db")


async def _sealed(http: Any, *values: Any) -> dict[str, Any]:
    """``values`` as the worker stores them in Temporal, in the protocol's proto3 JSON."""
    converter = data_converter(http.services.settings)
    payloads = await converter.encode(list(values))
    return json_format.MessageToDict(Payloads(payloads=payloads))


def _json(payload: Payload) -> dict[str, Any]:
    answer: dict[str, Any] = json_format.MessageToDict(payload)
    return answer


def _clear(answer: dict[str, Any]) -> list[bytes]:
    return [base64.b64decode(p["data"]) for p in answer["payloads"]]


async def test_the_bureau_and_auditors_read_histories_in_clear(api: ApiFactory) -> None:
    async with api(worker=False) as http:
        body = await _sealed(http, REQUEST)
        assert "需要委托" not in str(body)
        for user in ("demo-bureau", "audit-01"):
            answer = await http.post(DECODE, json=body, headers=await http.as_user(user))
            assert answer.status_code == 200, answer.text
            [clear] = _clear(answer.json())
            assert ExtensionRequest.model_validate_json(clear) == REQUEST
        # A payload this deployment cannot open comes back as it was, the others opened.
        [plain] = await pydantic_data_converter.encode([REQUEST])
        [stranger] = await EncryptionCodec(os.urandom(32)).encode([plain])
        mixed = {"payloads": [_json(stranger), *body["payloads"]]}
        answer = await http.post(DECODE, json=mixed, headers=await http.as_user("audit-01"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["payloads"][0] == _json(stranger)
        assert ExtensionRequest.model_validate_json(_clear(answer.json())[1]) == REQUEST
        for user in ("dongguan-h1", "dongguan-head", "cl-01", "cpl-01"):
            refused = await http.post(DECODE, json=body, headers=await http.as_user(user))
            assert refused.status_code == 403, (user, refused.text)
        anonymous = await http.post(DECODE, json=body, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        trail = await http.get(
            f"{V1}/audit", params={"limit": 50}, headers=await http.as_user("audit-01")
        )
        rows = [(r["actor"], r["action"], r["status"]) for r in trail.json()["items"]]
        assert ("audit-01", "decode_payloads", 200) in rows
        assert ("dongguan-h1", "decode_payloads", 403) in rows


async def test_the_web_ui_signs_in_with_a_cookie_and_only_its_origin_is_answered(
    api: ApiFactory,
) -> None:
    async with api(worker=False) as http:
        body = await _sealed(http, REQUEST)
        preflight = await http.options(
            DECODE,
            headers={
                "Origin": UI,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == UI
        assert preflight.headers["access-control-allow-credentials"] == "true"
        elsewhere = await http.options(DECODE, headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in elsewhere.headers

        # A handler cannot open a session; the auditor can, from the API docs page.
        refused = await http.post(f"{V1}/codec/session", headers=await http.as_user("dongguan-h1"))
        assert refused.status_code == 403
        opened = await http.post(f"{V1}/codec/session", headers=await http.as_user("audit-01"))
        assert opened.status_code == 200, opened.text
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/api/v1/codec" in cookie
        assert http.cookies["petitionflow_codec"]  # kept by the client, as a browser does
        # What the UI sends: the cookie, its origin and namespace, no Authorization header.
        answer = await http.post(
            DECODE,
            json=body,
            headers={"Authorization": "", "Origin": UI, "X-Namespace": "default"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == UI
        assert ExtensionRequest.model_validate_json(_clear(answer.json())[0]) == REQUEST
