"""Where a notice can reach someone (联系方式, issue 11): a person's email and mobile, a group
chat's robots (群机器人), and how the API shows them to readers who need not see them whole.

A group robot's webhook URL is a credential: whoever has it can post in the group. So is a
DingTalk robot's signing secret (加签密钥). Both are shown masked; the secret never leaves the
store except inside the address handed to the DingTalk sender (:func:`dingtalk_address`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urldefrag, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from domain.access import mask_phone

# 中国大陆手机号: 11 digits from 13x to 19x, optionally written with +86 / 0086 and separators.
_MOBILE = re.compile(r"^(?:\+?86|0086)?1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-]")
_SECRET_FIELD = "secret"  # noqa: S105 (the fragment's field name, not a secret)


class Contacts(BaseModel):
    """A person's own addresses (个人联系方式): none, one or both."""

    model_config = ConfigDict(frozen=True)

    email: str | None = None
    mobile: str | None = None


class GroupRobots(BaseModel):
    """A group chat's robots (工作群机器人): a unit's own group, or a named group that is no unit
    (乡镇书记群, 局长群). Either robot may be missing."""

    model_config = ConfigDict(frozen=True)

    wecom_url: str | None = None
    dingtalk_url: str | None = None
    dingtalk_secret: str | None = None


def is_mobile(number: str | None) -> bool:
    """Whether an SMS can go to ``number``: a mainland mobile, not a landline (0558-6120101)."""
    return number is not None and bool(_MOBILE.match(_SEPARATORS.sub("", number)))


def sms_number(number: str) -> str:
    """The 11 digits a gateway takes: separators and the +86 prefix dropped."""
    digits = _SEPARATORS.sub("", number)
    return digits[-11:]


def mask_email(email: str) -> str:
    """z***@example.org: the first letter of the mailbox and the domain stay."""
    local, at, domain = email.partition("@")
    if not at:
        return "*" * len(email)
    return f"{local[:1]}***@{domain}"


def mask_mobile(mobile: str) -> str:
    """138****0001, as petitioners' phones are masked."""
    return mask_phone(mobile)


def mask_webhook(url: str) -> str:
    """The robot's host and path, with each query value cut to its first four characters:
    enough to tell two robots apart, not enough to post with one."""
    parts = urlsplit(url)
    query = "&".join(
        f"{name}={value[:4]}****" if value else name
        for name, _, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def dingtalk_address(url: str, secret: str | None) -> str:
    """The address of a DingTalk robot as an ``Outgoing`` carries it: the webhook URL with the
    signing secret in its fragment (``#secret=SEC…``). A fragment is never sent over HTTP, and
    the sender takes it off before signing (:func:`split_dingtalk_address`)."""
    base, _ = urldefrag(url)
    return f"{base}#{_SECRET_FIELD}={quote(secret, safe='')}" if secret else base


def split_dingtalk_address(address: str) -> tuple[str, str | None]:
    """The webhook URL and the signing secret (None: the robot is not in signed mode)."""
    base, fragment = urldefrag(address)
    values = parse_qs(fragment).get(_SECRET_FIELD)
    return base, values[0] if values else None
