"""WeCom (企业微信) group robot (群机器人): a text message POSTed to the robot's webhook URL,
``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>``, which is the message's address.

Its documented format: ``{"msgtype": "text", "text": {"content": "…"}}``, content at most 2048
bytes of UTF-8; the answer ``{"errcode": 0, "errmsg": "ok"}``. A robot sends at most 20 messages
a minute: over that it answers errcode 45009 (retried, with the activity's backoff), as it does
-1 (busy). Any other errcode is permanent: 93000 is an invalid webhook URL (a wrong or deleted
key), 40008 an invalid message type, and so on.

A robot does not deduplicate: a worker killed after the robot posted and before the delivery was
recorded posts again on retry (README, "Exactly once").
"""

from __future__ import annotations

from activities.channels.http import DEFAULT_TIMEOUT, check_errcode, post_json
from domain.delivery import DeliveryChannel, Outgoing

MAX_CONTENT_BYTES = 2048
BUSY, RATE_LIMITED = -1, 45009
TRANSIENT_ERRCODES = frozenset({BUSY, RATE_LIMITED})
ELLIPSIS = "…"


def fit(text: str, max_bytes: int) -> str:
    """``text`` cut to ``max_bytes`` of UTF-8 on a character boundary, marked when cut."""
    if len(text.encode()) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    return text.encode()[:room].decode("utf-8", errors="ignore") + ELLIPSIS


class WeComSender:
    channel = DeliveryChannel.WECOM

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    async def send(self, message: Outgoing) -> str | None:
        body = {"msgtype": "text", "text": {"content": fit(message.text, MAX_CONTENT_BYTES)}}
        response = await post_json(message.address, body, timeout=self.timeout)
        check_errcode(message.address, response, TRANSIENT_ERRCODES, "WeCom")
        return None  # the robot gives no message id
