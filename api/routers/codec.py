"""Temporal's codec server protocol, served by the API so that an operator reads a petition's
history in Temporal's Web UI (or ``temporal workflow show --codec-endpoint``) in clear, while
Temporal itself, and everyone else who reaches it, sees ciphertext (core/codec.py).

``POST /api/v1/codec/decode`` takes and answers ``{"payloads": [...]}`` in proto3 JSON (bytes
as base64), the body the UI and the CLI send. There is no ``/encode`` on purpose: the worker
refuses unencrypted input, and an endpoint that encrypts for whoever signs in would hand that
power back to anyone with an account; the UI runs read-only and needs none.

Who: the bureau (信访局) and auditors, signed in with a password, never an API key. A decoded
history is the petitioner's whole file unmasked (name, phone, ID number, complaint) and every
officer's action; the endpoint sees payloads, not which petition they belong to, so it cannot
apply the per-unit rule and is open only to those who read every petition already: the bureau,
who registers and supervises each case, and the auditors, who check what the engine recorded
against the audit trail. County principal leaders read every petition with contact details
masked, so they are not among them. Every call is on the audit trail (the middleware records
each POST with its caller), with how many payloads it opened.

The browser sends no Authorization header to a codec endpoint: ``POST /api/v1/codec/session``
(with the bearer token, from the API docs page) answers with an HttpOnly, SameSite=Strict cookie
holding that access token for the codec paths only; the UI, with "include cross-origin
credentials" on, sends it. CORS answers only the origins of ``codec_ui_origins``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from google.protobuf import json_format
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import api_key_header, bearer, current_principal
from api.deps import ServicesDep, SessionDep
from api.errors import Invalid, NotAllowed
from core.codec import EncryptionCodec, PayloadKeyError
from domain.access import Principal
from domain.vocabulary import Role

log = logging.getLogger("petitionflow.codec")

COOKIE = "petitionflow_codec"
PREFIX = "/codec"
COOKIE_PATH = f"/api/v1{PREFIX}"
# Who may read histories in clear, and why (module docstring).
CODEC_ROLES = frozenset({Role.BUREAU_DISPATCHER, Role.AUDITOR})

router = APIRouter(prefix=PREFIX, tags=["codec"])
Bearer = Annotated[str | None, Depends(bearer)]


class PayloadsJson(BaseModel):
    """Temporal's ``Payloads`` in proto3 JSON: metadata values and data in base64."""

    payloads: list[dict[str, Any]]


class CodecSession(BaseModel):
    expires_in: int  # seconds: the access token's own remaining life


async def codec_reader(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    token: Bearer,
    key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """The signed-in operator, from the Authorization header (the CLI's ``--codec-auth``) or the
    codec cookie (the Web UI); 401 without either, 403 unless bureau or auditor by password."""
    principal = await current_principal(
        request=request,
        session=session,
        services=services,
        token=token or request.cookies.get(COOKIE),
        key=key,
    )
    if principal.via != "password" or not principal.roles & CODEC_ROLES:
        raise NotAllowed(
            f"{principal.username} may not read workflow histories in clear: only the bureau "
            "and auditors, signed in with a password"
        )
    return principal


CodecReader = Annotated[Principal, Depends(codec_reader)]


def _cors(request: Request, response: Response, origins: list[str]) -> None:
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"


@router.options("/decode", include_in_schema=False)
@router.options("/session", include_in_schema=False)
async def preflight(request: Request, services: ServicesDep) -> Response:
    """The browser's CORS preflight carries no credentials: answered for the allowed origins."""
    response = Response(status_code=204)
    _cors(request, response, services.settings.codec_ui_origins)
    return response


@router.post("/decode", response_model=PayloadsJson)
async def decode_payloads(
    body: PayloadsJson,
    request: Request,
    response: Response,
    services: ServicesDep,
    reader: CodecReader,
) -> dict[str, Any]:
    """Decrypt payloads for Temporal's Web UI or CLI. A payload this deployment's keys cannot
    open is answered as it came, so one stranger does not hide the rest of a history."""
    try:
        payloads = json_format.ParseDict(body.model_dump(), Payloads())
    except json_format.ParseError as exc:
        raise Invalid("payloads", "payloads", "not Temporal payloads in proto3 JSON", None) from exc
    key, old_keys = services.settings.payload_keys()
    # Plain payloads (search attributes, histories from before the codec) are shown as they are.
    codec = EncryptionCodec(key, old_keys, accept_plain=True)
    opened: list[Payload] = []
    for payload in payloads.payloads:
        try:
            [clear] = await codec.decode([payload])
        except PayloadKeyError:
            clear = payload
        opened.append(clear)
    # Beside the audit row the middleware writes: how much was opened, never what.
    log.info("codec: %s opened %d payloads", reader.username, len(opened))
    _cors(request, response, services.settings.codec_ui_origins)
    answer: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=opened))
    return {"payloads": answer.get("payloads", [])}


@router.post("/session", response_model=CodecSession)
async def open_codec_session(
    request: Request,
    response: Response,
    services: ServicesDep,
    reader: CodecReader,
    token: Bearer,
) -> CodecSession:
    """Put the caller's access token in the codec cookie, so the Web UI can send it; it lasts
    no longer than the token (``access_token_minutes``), and reaches the codec paths only."""
    if token is None:
        raise NotAllowed("open a codec session with Authorization: Bearer (the access token)")
    seconds = services.settings.access_token_minutes * 60
    response.set_cookie(
        COOKIE,
        token,
        max_age=seconds,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    _cors(request, response, services.settings.codec_ui_origins)
    return CodecSession(expires_in=seconds)
