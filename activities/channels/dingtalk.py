"""DingTalk (钉钉) custom group robot (自定义机器人) in signed mode (加签): a text message POSTed
to ``https://oapi.dingtalk.com/robot/send?access_token=<token>&timestamp=<ms>&sign=<sign>``.

The signature, as DingTalk documents it: ``sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}")))`` with ``timestamp`` the current time in milliseconds; the robot
refuses a timestamp more than an hour from its clock. The secret travels with the robot's URL in
the message's address (``domain.contacts.dingtalk_address``), never over the wire. A robot
without a secret (keyword or IP-list security) is sent to unsigned.

The answer is ``{"errcode": 0, "errmsg": "ok"}``. 410100 and 130101 (sending too fast: a robot
takes 20 messages a minute) and -1 (busy) are retried; any other errcode is permanent: 310000
(signature refused, keyword missing, IP not allowed, timestamp off), 300001 (no such token).

A robot does not deduplicate: a resend after a crash posts again (README, "Exactly once").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlencode

from activities.channels.http import DEFAULT_TIMEOUT, check_errcode, post_json
from activities.channels.wecom import fit
from domain.contacts import split_dingtalk_address
from domain.delivery import DeliveryChannel, Outgoing

MAX_CONTENT_BYTES = 18000  # DingTalk's text limit is about 20,000 bytes
TRANSIENT_ERRCODES = frozenset({-1, 410100, 130101})


def sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature of ``timestamp_ms``; the query string URL-encodes it."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class DingTalkSender:
    channel = DeliveryChannel.DINGTALK

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.time
    ) -> None:
        self.timeout = timeout
        self._clock = clock  # seconds since the epoch; a test sets it back to go stale

    async def send(self, message: Outgoing) -> str | None:
        url, secret = split_dingtalk_address(message.address)
        target = url
        if secret:
            # Signed at each attempt: a retry an hour later must not carry a stale timestamp.
            # Appended to the access token's query (urlencode: the sign's + / = escaped).
            timestamp = int(self._clock() * 1000)
            query = urlencode({"timestamp": timestamp, "sign": sign(secret, timestamp)})
            target = f"{url}{'&' if '?' in url else '?'}{query}"
        body = {"msgtype": "text", "text": {"content": fit(message.text, MAX_CONTENT_BYTES)}}
        response = await post_json(target, body, timeout=self.timeout)
        check_errcode(url, response, TRANSIENT_ERRCODES, "DingTalk")
        return None
