"""What the API shows of notices on their way (issue 11): each delivery (送达) on a channel,
the inbox (站内待办) with 签收, and the bureau's view of every delivery."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.delivery import DeliveryChannel
from domain.notice_delivery import DeliveryStatus
from domain.vocabulary import Role


class DeliveryPublic(BaseModel):
    """One notice on one channel: sent, failed for good, or still being tried."""

    model_config = ConfigDict(from_attributes=True)

    channel: DeliveryChannel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class DeliveryStatusPublic(DeliveryPublic):
    """A delivery with the notice it carries (the bureau's list)."""

    notice_id: int
    petition_id: str
    key: str
    kind: str
    recipient_id: str
    recipient_name: str
    signed_at: datetime | None


class DeliveryStatusPage(BaseModel):
    items: list[DeliveryStatusPublic]
    total: int
    limit: int
    offset: int


class NoticePublic(BaseModel):
    id: int
    # The county's number of the slip (文号, 青信督〔2026〕12号); None for unnumbered kinds.
    number: str | None = None
    petition_id: str
    key: str
    kind: str
    level: int | None
    recipient_id: str
    recipient_name: str
    recipient_role: Role
    text: str
    created_at: datetime
    # Issue 11: the first delivery on any channel, 签收 in the inbox, and each channel's record.
    delivered_at: datetime | None = None
    signed_at: datetime | None = None
    deliveries: list[DeliveryPublic] = Field(default_factory=list)


class NoticePage(BaseModel):
    """A page of an inbox: unsigned first, then newest first."""

    items: list[NoticePublic]
    total: int
    limit: int
    offset: int
