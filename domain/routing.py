"""Which channels a notice goes out on (送达渠道, issue 11, item 2), per person and per notice
kind. Pure: the delivery workflow asks it with the recipient's contacts, their preferences and
the unit's group robots, all read from the directory by an activity.

The inbox (站内待办) always has the notice; this chooses what is pushed besides. Defaults:

- 督办单 and 逾期通报 to a leader (分管领导 and up, 包案领导): email and SMS — an escalation
  must be seen the same day; to the bureau's dispatcher: email;
- 催办单, 交办单, the upload refusal: email (the inbox carries the rest);
- the petitioner's 告知: SMS to their phone, nothing else (a landline gets none);
- a slip to a unit's own people (承办人, 分管领导, 单位主要领导) also goes to the unit's group
  chat, on each robot it has (WeCom, DingTalk). County leaders' copies, the bureau's and the
  petitioner's never do: one post per step, and nothing of a citizen's in a group.

A person's preferences (``channel_preferences`` in the directory) replace the default of the
kinds they name, among email and SMS; an empty list means the inbox only. A channel without an
address is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.contacts import Contacts, GroupRobots, dingtalk_address, is_mobile
from domain.delivery import DeliveryChannel
from domain.vocabulary import NoticeKind, Role

EMAIL, SMS = DeliveryChannel.EMAIL, DeliveryChannel.SMS
PERSONAL_CHANNELS = frozenset({EMAIL, SMS})
GROUP_CHANNELS = (DeliveryChannel.WECOM, DeliveryChannel.DINGTALK)

LEADER_ROLES = frozenset(
    {
        Role.SUPERVISING_LEADER,
        Role.UNIT_HEAD,
        Role.COUNTY_CONTACT_LEADER,
        Role.COUNTY_PRINCIPAL_LEADER,
        Role.CASE_OWNER,
    }
)
# The unit's own people: their slips are the unit's business, posted in its group.
UNIT_ROLES = frozenset({Role.HANDLER, Role.SUPERVISING_LEADER, Role.UNIT_HEAD})
GROUP_KINDS = frozenset(
    {NoticeKind.ASSIGNMENT, NoticeKind.REMINDER, NoticeKind.SUPERVISION, NoticeKind.OVERDUE}
)
ESCALATIONS = frozenset({NoticeKind.SUPERVISION, NoticeKind.OVERDUE})

Preferences = Mapping[str, Sequence[str]]


def default_channels(kind: NoticeKind, recipient_role: Role) -> tuple[DeliveryChannel, ...]:
    """The personal channels of a notice kind when the person has said nothing."""
    if kind is NoticeKind.PETITIONER:
        return (SMS,)
    if kind in ESCALATIONS and recipient_role in LEADER_ROLES:
        return (EMAIL, SMS)
    return (EMAIL,)


def preferred_channels(
    kind: NoticeKind, recipient_role: Role, preferences: Preferences | None
) -> tuple[DeliveryChannel, ...]:
    """The person's choice for ``kind`` if they made one, else the default. Unknown names in a
    preference are ignored (the directory API refuses them; older rows may still hold them)."""
    if kind is NoticeKind.PETITIONER or preferences is None or kind.value not in preferences:
        return default_channels(kind, recipient_role)  # the petitioner is not in the directory
    return tuple(DeliveryChannel(n) for n in preferences[kind.value] if n in PERSONAL_CHANNELS)


def channels_for(
    contacts: Contacts,
    kind: NoticeKind,
    recipient_role: Role,
    preferences: Preferences | None = None,
    group: GroupRobots | None = None,
) -> list[DeliveryChannel]:
    """The channels one notice goes out on, in order, each with an address to send to
    (:func:`address_for`). ``group``: the robots of the recipient's unit, if it has any."""
    chosen = [
        channel
        for channel in preferred_channels(kind, recipient_role, preferences)
        if (channel is EMAIL and contacts.email) or (channel is SMS and is_mobile(contacts.mobile))
    ]
    if group is not None and kind in GROUP_KINDS and recipient_role in UNIT_ROLES:
        if group.wecom_url:
            chosen.append(DeliveryChannel.WECOM)
        if group.dingtalk_url:
            chosen.append(DeliveryChannel.DINGTALK)
    return chosen


def address_for(
    channel: DeliveryChannel, contacts: Contacts, group: GroupRobots | None = None
) -> str:
    """The ``Outgoing.address`` of a channel that :func:`channels_for` chose."""
    address: str | None
    if channel is EMAIL:
        address = contacts.email
    elif channel is SMS:
        address = contacts.mobile
    elif channel is DeliveryChannel.WECOM:
        address = group.wecom_url if group else None
    else:
        address = (
            dingtalk_address(group.dingtalk_url, group.dingtalk_secret)
            if group and group.dingtalk_url
            else None
        )
    if not address:
        raise ValueError(f"no {channel.value} address: channels_for would not have chosen it")
    return address
