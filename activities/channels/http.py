"""What the HTTP channels share (SMS gateway, WeCom and DingTalk robots): one JSON POST, and the
line between a failure worth retrying and one that is not."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from domain.delivery import PermanentDeliveryFailure, TransientDeliveryFailure

DEFAULT_TIMEOUT = 10.0  # seconds; a send that takes longer is retried
# How much of a refusal's body goes into the error (it ends up on the petition's delivery).
BODY_EXCERPT_CHARS = 300
# 4xx answers that mean "not now" rather than "never": a timeout, too early, too many.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every send and upload: building one (loading the CA bundle) costs a
    fifth of a second, more than a send to a robot takes."""
    return httpx.create_ssl_context()


def where(url: str) -> str:
    """A URL fit for an error message: scheme, host and path, never the query (a robot's key or
    access token is there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def excerpt(response: httpx.Response) -> str:
    return response.text[:BODY_EXCERPT_CHARS].replace("\n", " ")


async def post_json(
    url: str,
    body: dict[str, Any],
    *,
    timeout: float,  # noqa: ASYNC109 (httpx's own timeout, per request phase)
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` as UTF-8 JSON. Refused connections, timeouts and broken answers are the
    network's fault (transient); so are 5xx and 408/425/429; any other 4xx is permanent: the
    same request would be refused again."""
    try:
        # A client per send, as the upload does: it cannot outlive the activity's event loop.
        async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.RequestError as exc:
        raise TransientDeliveryFailure(
            f"{where(url)} unreachable: {type(exc).__name__}: {exc}"
        ) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    message = f"{where(url)} answered {status}: {excerpt(response)}"
    if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
        raise TransientDeliveryFailure(message)
    raise PermanentDeliveryFailure(message)


def json_object(url: str, response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; an answer that is none is the provider's trouble: retry."""
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientDeliveryFailure(
            f"{where(url)} answered {response.status_code} without JSON: {excerpt(response)}"
        ) from exc
    if not isinstance(data, dict):
        raise TransientDeliveryFailure(f"{where(url)} answered {excerpt(response)}")
    return data


def check_errcode(
    url: str, response: httpx.Response, transient: frozenset[int], provider: str
) -> None:
    """A group robot answers 200 with ``errcode`` (0: sent). The codes in ``transient`` (busy,
    rate-limited) are retried; any other is permanent — a wrong key or token, a refused
    signature, a malformed message: the same request would be refused again."""
    data = json_object(url, response)
    code = data.get("errcode")
    if code == 0:
        return
    message = f"{provider} robot {where(url)} refused: errcode {code}: {data.get('errmsg', '')}"
    if code in transient or code is None:
        raise TransientDeliveryFailure(message)
    raise PermanentDeliveryFailure(message)
