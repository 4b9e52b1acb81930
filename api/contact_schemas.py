"""Public contracts of the directory's contact channels (issue 11): a person's email, mobile,
quiet hours and channel choices, and the group chats with their robots. Strict, as
``api.schemas``; kept apart so that module stays readable."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from api.schemas import StrictIn
from domain.contacts import is_mobile
from domain.contracts import Title
from domain.quiet_hours import QuietWindow
from domain.vocabulary import NoticeKind


def _mobile(value: str) -> str:
    if not is_mobile(value):
        raise ValueError("a mainland mobile number (11 digits, 13x–19x), e.g. 13800138000")
    return value


def _webhook(value: str) -> str:
    try:
        host = urlsplit(value).hostname  # refuses a malformed one, http://]…
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if not host:
        raise ValueError("a webhook URL names its host")
    return value


def _quiet_hours(value: str) -> str:
    return str(QuietWindow.parse(value))  # raises on 25:00; answers 22:00-07:00 normalised


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Mobile = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_mobile)
]
QuietHours = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$"),
    AfterValidator(_quiet_hours),
]
# Printable ASCII only: a robot's URL is what its provider wrote, percent-encoded.
WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://[!-~]+$"),
    AfterValidator(_webhook),
]
Secret = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[!-~]{1,200}$")]
PersonalChannel = Literal["email", "sms"]


class MyReachIn(StrictIn):
    """What a person sets for themselves (``PUT /me/contact``): when they are left alone and on
    which channels each kind of notice reaches them. Their addresses stay the bureau's to keep."""

    quiet_hours: QuietHours | None = Field(
        default=None, description="免打扰 HH:MM-HH:MM, Beijing time; none: 22:00-07:00"
    )
    channel_preferences: dict[NoticeKind, list[PersonalChannel]] | None = Field(
        default=None,
        description='per notice kind, the channels besides the inbox, e.g. {"reminder": '
        '["email"]}; a kind left out keeps its default, [] means the inbox only',
    )


class ContactsIn(MyReachIn):
    """A person's contact channels, all at once: a field left out is cleared."""

    email: Email | None = Field(default=None, description="电子邮箱, e.g. zhang.ming@example.org")
    mobile: Mobile | None = Field(default=None, description="手机 (SMS goes here, not to phone)")


class ContactsPublic(BaseModel):
    """A person's contact channels; email and mobile masked (z***@example.org, 154****0101)
    for anyone but the bureau and the person."""

    person_id: str
    email: str | None
    mobile: str | None
    quiet_hours: str
    channel_preferences: dict[str, list[str]] | None
    masked: bool


class GroupIn(StrictIn):
    """A group chat and its robots. A unit's own group has the unit's id and names it in
    ``unit_id``; a group that is no unit (乡镇书记群, 局长群) names none."""

    name: Title = Field(description="e.g. 乡镇书记群")
    unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    wecom_url: WebhookUrl | None = Field(
        default=None, description="企业微信群机器人 webhook, …/cgi-bin/webhook/send?key=…"
    )
    dingtalk_url: WebhookUrl | None = Field(
        default=None, description="钉钉自定义机器人 webhook, …/robot/send?access_token=…"
    )
    dingtalk_secret: Secret | None = Field(
        default=None, description="the DingTalk robot's 加签 secret (SEC…); none: unsigned"
    )


class GroupPublic(BaseModel):
    """A group chat; its robot URLs masked (a URL is enough to post), its secret never shown."""

    id: str
    name: str
    unit_id: str | None
    wecom_url: str | None
    dingtalk_url: str | None
    dingtalk_signed: bool
