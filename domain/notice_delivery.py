"""送达 and 签收 of one notice (issue 11): what the notice-delivery workflow and its activities
exchange, the keys of the slips it writes itself, and their wording (催办 of a 督办单 nobody
signed for, 送达失败 to the bureau). The channels and their failures are domain.delivery's."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.delivery import DeliveryChannel
from domain.vocabulary import NOTICE_LABELS, ROLE_LABELS, NoticeKind, Role

# Names shared by the workflow, its activities and the starter (as domain.contracts does for the
# petition's): the workflow refers to activities by name, never importing the database layer.
NOTICE_DELIVERY_WORKFLOW = "NoticeDelivery"
DELIVERY_TARGETS = "delivery_targets"
DELIVER_NOTICE = "deliver_notice"
DELIVER_NOTICES = "deliver_notices"  # a step's sends in one activity (patch deliveries-batched)
REPORT_UNDELIVERED = "report_undelivered"
REMIND_UNSIGNED = "remind_unsigned"
REMIND_UNSIGNED_AND_SEND = "remind_unsigned_and_send"  # and its slips sent (deliveries-batched)
SIGNED_FOR = "signed_for"  # the signal the API sends when the recipient signs (签收)

# The error type of a permanent failure as the workflow sees it (non-retryable).
PERMANENT_FAILURE = "PermanentDeliveryFailure"

CHANNEL_LABELS: dict[DeliveryChannel, str] = {
    DeliveryChannel.EMAIL: "电子邮件",
    DeliveryChannel.SMS: "短信",
    DeliveryChannel.WECOM: "企业微信",
    DeliveryChannel.DINGTALK: "钉钉",
}


class DeliveryStatus(StrEnum):
    """Where one notice stands on one channel (送达状态)."""

    PENDING = "pending"  # 待发送 (or being retried)
    SENT = "sent"  # 已送达 (the provider accepted it)
    FAILED = "failed"  # 送达失败: permanent, the bureau was told


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoticeToDeliver(_Frozen):
    """The notice-delivery workflow's input: one notice of the outbox. The activities find it by
    petition and key (a rebuilt read model numbers its rows afresh); ``notice_id`` is the row's
    id when the delivery started, for the logs."""

    notice_id: int
    petition_id: str
    key: str
    kind: NoticeKind
    recipient_id: str
    # 督办单: how long the recipient has to sign for it before a 催办; None: no follow-up.
    sign_within: timedelta | None = None
    # Delivered by the petition's own workflow (since the patch ``deliveries-in-workflow``): the
    # slips its delivery writes (送达失败, 催办) come back to it as routes, no workflow starts.
    in_petition: bool = False
    # Its sends are in the outbox (the patch ``deliveries-outboxed``): the slips a delivery
    # writes for it (催办, 送达失败) go there too, with their rows, and nothing is sent here.
    outboxed: bool = False


class DeliveryTarget(_Frozen):
    """One channel and address a notice goes to (besides the inbox, always)."""

    channel: DeliveryChannel
    address: str
    # The text sent when it is not the notice's own (the petitioner's short SMS).
    text: str | None = None
    # Not before this moment: the recipient's quiet hours (domain.quiet_hours); None: at once.
    not_before: datetime | None = None


class NoticeRoute(_Frozen):
    """One notice written and where it goes: what the petition's workflow delivers itself."""

    notice: NoticeToDeliver
    targets: list[DeliveryTarget]


class StepWritten(_Frozen):
    """``record_step``'s answer to a workflow that delivers its own notices: whether the step
    was written now, and each of its notices with somewhere to go (or a 签收 to wait for), so
    no look-up of its own follows. ``queue``: the task queue the sends run on."""

    written: bool
    queue: str = ""
    routes: list[NoticeRoute] = []


class DeliveryAttempt(_Frozen):
    notice: NoticeToDeliver
    target: DeliveryTarget


class DeliveryBatch(_Frozen):
    """The sends of one step (every notice and channel it routes, released at the same moment)
    as one activity: one task for the workflow, not one per send."""

    attempts: list[DeliveryAttempt]


class Undelivered(_Frozen):
    """A notice that could not reach its recipient on one channel, and why."""

    notice: NoticeToDeliver
    channel: DeliveryChannel
    error: str


class SendsLeft(_Frozen):
    """Slips written and sent in one activity: what is left for the workflow to send (held by
    quiet hours, or failed for now: retried there) and what failed for good."""

    routes: list[NoticeRoute] = []
    failed: list[Undelivered] = []


def notice_workflow_id(petition_id: str, key: str) -> str:
    """One delivery workflow per notice: the petition number and the slip's key."""
    return f"notice-{petition_id}-{key}"


def needs_signature(kind: NoticeKind) -> bool:
    """督办单 must be signed for (签收); the other slips are read in the inbox at will."""
    return kind == NoticeKind.SUPERVISION


def reports_failure(kind: NoticeKind) -> bool:
    """A 送达失败 notice that itself fails is not reported again (no cascade)."""
    return kind != NoticeKind.UNDELIVERED


def sign_reminder_key(key: str) -> str:
    return f"{key}:unsigned"


def sign_reminder_copy_key(key: str) -> str:
    return f"{key}:unsigned:bureau"


def undelivered_key(key: str, channel: DeliveryChannel) -> str:
    return f"{key}:undelivered:{channel.value}"


def _beijing(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).strftime("%Y年%m月%d日 %H:%M")


def sign_reminder_text(petition_id: str, recipient_name: str, sent_at: datetime) -> str:
    """催办单 to whoever left a 督办单 unsigned (``sent_at`` in UTC)."""
    return (
        f"催办单\n{recipient_name}：\n信访事项 {petition_id} 的督办单于 {_beijing(sent_at)}"
        "（北京时间）发出，至今未签收。请即登录信访工作平台签收，并按督办要求落实办理。\n"
        "（抄送县信访局）"
    )


def sign_reminder_copy_text(petition_id: str, recipient_name: str, role: Role | None) -> str:
    """The bureau's copy of that 催办."""
    post = f"（{ROLE_LABELS[role]}）" if role in ROLE_LABELS else ""
    return (
        f"催办单（抄送）\n{recipient_name}{post}未在时限内签收信访事项 {petition_id} 的督办单，"
        "已向其发出催办单。"
    )


def undelivered_text(
    petition_id: str, kind: NoticeKind, recipient_name: str, channel: DeliveryChannel, error: str
) -> str:
    """送达失败: the bureau learns that a slip did not arrive, and on which channel."""
    label = NOTICE_LABELS.get(kind, kind.value)
    return (
        f"送达失败通知\n信访事项 {petition_id} 的{label}（发给{recipient_name}）经"
        f"{CHANNEL_LABELS[channel]}未能送达：{error[:200]}。请电话联系本人，并核对通讯录中的联系方式。"
    )
