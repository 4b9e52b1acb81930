"""Delivery of notices (送达, issue 11): the channels a notice goes out on, one message to send,
and the two ways a send fails. Shared by every channel so the delivery activity treats them alike.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class DeliveryChannel(StrEnum):
    """Where a notice is sent besides the recipient's inbox (站内待办, always)."""

    EMAIL = "email"  # 电子邮件
    SMS = "sms"  # 短信
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉群机器人


class Outgoing(BaseModel):
    """One message: one notice, on one channel, to one address."""

    model_config = ConfigDict(frozen=True)

    notice_id: int
    channel: DeliveryChannel
    # An email address, a mobile number, or a group robot's webhook URL.
    address: str
    subject: str
    text: str
    # "<notice id>:<channel>": a provider that deduplicates (an SMS gateway's request id, an
    # email's Message-ID) gets this, so a retried send after a crash is not a second message.
    dedup_key: str


class PermanentDeliveryFailure(Exception):
    """Retrying cannot help (a bad address, a gateway's 4xx): stop, show it, tell the bureau."""


class TransientDeliveryFailure(Exception):
    """Worth retrying with backoff (timeout, refused connection, 5xx, a robot's rate limit)."""
