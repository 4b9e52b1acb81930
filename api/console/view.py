"""What the console's pages show beside the service layer's answers: the labels (zh-CN, or
English where chosen: api.console.i18n), each deadline's countdown and colour, and the actions
a reader may take on a petition *now* — asked of the same two rules the workflow and the API
apply (domain.access for who, domain.lifecycle for when), so a button is offered only where the
action would be accepted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.console.i18n import N_, Labels, pgettext
from api.console.i18n import gettext as _
from api.schemas import PetitionPublic
from core.settings import Settings
from domain.access import Action, Principal
from domain.contracts import Deadline, ExtensionRequest, PetitionState, TransferRequest
from domain.lifecycle import ActionRequest, refusal
from domain.policy import BEIJING
from domain.reports import KIND_NAMES
from domain.vocabulary import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    EVENT_LABELS,
    NOTICE_LABELS,
    PHASE_LABELS,
    ROLE_LABELS,
    STAGE_LABELS,
    TRACK_LABELS,
    NoticeKind,
    Phase,
    Rating,
    ReachedBy,
    Role,
    Stage,
)

# On the pages a stage also says what the petition waits for.
STAGE_HINTS = {
    **STAGE_LABELS,
    Stage.REGISTERED: "已登记（待交办）",
    Stage.ASSIGNED: "已交办（待受理）",
    Stage.REPLIED: "已答复（待回访）",
}
RATING_LABELS = {
    Rating.SATISFIED: "满意",
    Rating.BASICALLY_SATISFIED: "基本满意",
    Rating.DISSATISFIED: "不满意",
}
REACHED_LABELS = {
    ReachedBy.PHONE: "电话",
    ReachedBy.VISIT: "走访、当面",
    ReachedBy.LETTER: "信函",
    ReachedBy.ONLINE: "网上",
}
ALL_ROLE_LABELS = {**ROLE_LABELS, Role.AUDITOR: "审计监督人员", Role.INTEGRATION: "系统对接"}
ACTION_LABELS = {
    Action.ASSIGN: "交办",
    Action.ACCEPT: "受理",
    Action.DECLINE: "不予受理",
    Action.TRANSFER: "转办",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "延期审批",
    Action.COMPLETE: "办结",
    Action.RATE: "回访",
    Action.REQUEST_REVIEW: "申请复查/复核",
    Action.SET_OWNER: "领导包案",
    Action.WITHDRAW: "撤回",
}
# The console's forms, in the order a case goes through them.
OFFERED = tuple(ACTION_LABELS)
DUE_SOON = timedelta(days=1)


# The domain's tables of names, each read in the request's language under its own msgctxt.
LABELS = {
    "stage_labels": Labels("stage", STAGE_HINTS),
    "channel_labels": Labels("channel", CHANNEL_LABELS),
    "category_labels": Labels("category", CATEGORY_LABELS),
    "track_labels": Labels("track", TRACK_LABELS),
    "rating_labels": Labels("rating", RATING_LABELS),
    "reached_labels": Labels("reached", REACHED_LABELS),
    "role_labels": Labels("role", ALL_ROLE_LABELS),
    "notice_labels": Labels("notice", {k.value: v for k, v in NOTICE_LABELS.items()}),
    "phase_labels": Labels("phase", PHASE_LABELS),
    "action_labels": Labels("action", ACTION_LABELS),
    "event_labels": Labels("event", EVENT_LABELS),
}
REPORT_KINDS = Labels("report", KIND_NAMES)  # the report pages' tabs (日报, 周报, …)


def labels() -> dict[str, object]:
    """The labels every template may use."""
    return dict(LABELS)


@dataclass(frozen=True)
class Countdown:
    """A deadline as a person reads it: when (Beijing time), how long is left, and its colour."""

    description: str
    reason: str
    due: str  # Beijing time, to the minute
    due_iso: str
    left: str
    urgency: str  # "overdue" (red), "soon" (amber, within a day) or "" (in time)


def beijing(moment: datetime | None) -> str:
    return f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M}" if moment else ""


def countdown(deadline: Deadline, now: datetime | None = None) -> Countdown:
    now = now or datetime.now(UTC)
    left = deadline.due_at - now
    urgency = "overdue" if left <= timedelta(0) else "soon" if left <= DUE_SOON else ""
    return Countdown(
        description=deadline.description,
        reason=deadline.reason or _("按规定期限"),
        due=beijing(deadline.due_at),
        due_iso=deadline.due_at.isoformat(),
        left=_span(left),
        urgency=urgency,
    )


def _span(left: timedelta) -> str:
    seconds = int(abs(left.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = (
        _("%(days)s天%(hours)s小时") % {"days": days, "hours": hours}
        if days
        else _("%(hours)s小时%(minutes)s分") % {"hours": hours, "minutes": minutes}
        if hours
        else _("%(minutes)s分钟") % {"minutes": minutes}
        if minutes
        # a compressed policy day (the demo's) counts in seconds
        else _("%(seconds)s秒") % {"seconds": seconds}
    )
    return (_("已超期%(span)s") if left <= timedelta(0) else _("剩余%(span)s")) % {"span": text}


def pending(deadlines: Sequence[Deadline | dict[str, object]]) -> list[Countdown]:
    """The deadlines still ahead or passed unanswered (not those a step already settled), each
    with its countdown, the soonest first."""
    parsed = [Deadline.model_validate(d) for d in deadlines]
    return [countdown(d) for d in sorted(parsed, key=lambda d: d.due_at)]


def next_due(deadlines: Sequence[Deadline | dict[str, object]]) -> Countdown | None:
    now = datetime.now(UTC)
    parsed = [Deadline.model_validate(d) for d in deadlines]
    ahead = [d for d in parsed if d.due_at > now and not d.passed]
    if ahead:
        return countdown(min(ahead, key=lambda d: d.due_at), now)
    passed = [d for d in parsed if d.passed or d.due_at <= now]
    return countdown(max(passed, key=lambda d: d.due_at), now) if passed else None


def offered(view: PetitionPublic, reader: Principal, settings: Settings) -> list[Action]:
    """The actions ``reader`` may take on the petition now: allowed to them (domain.access)
    and not refused by its stage (domain.lifecycle, the workflow's own rule)."""
    state = PetitionState.model_construct(
        id=view.id,
        track=view.track,
        category=view.category,
        registered_at=view.registered_at,
        policy_version=view.policy_version,
        unit_id=view.unit_id,
        stage=view.stage,
        phase=view.phase,
        rating=view.rating,
        closure=view.closure,
        extension=view.extension,
    )
    policy = settings.policy(view.unit_id, view.category.value)
    now = datetime.now(UTC)
    window = [d.due_at for d in view.deadlines if d.kind == "review_request" and not d.passed]
    samples: dict[Action, ActionRequest] = {
        Action.TRANSFER: TransferRequest.model_construct(unit_id="", reason="转办"),
        Action.REQUEST_EXTENSION: ExtensionRequest.model_construct(days=1, reason="延期"),
    }
    return [
        action
        for action in OFFERED
        if reader.may(action, view.unit_id)
        and refusal(
            state,
            action,
            samples.get(action),
            now,
            max_extension_days=policy.max_extension_days,
            review_due=window[0] if window else None,
            review_days=policy.review_days,
        )
        is None
    ]


# What kind of refusal it is, in words, before the service layer's own reason.
REFUSAL_KINDS = {
    403: N_("无权办理"),
    404: N_("未找到该信访事项，或不在您的查阅范围内"),
    409: N_("当前阶段不能办理"),
    422: N_("填写有误"),
    503: N_("系统暂时无法办理，请稍后再试"),
}


def refusal_in_words(status: int, detail: object) -> str:
    """A refusal of the service layer as a person reads it: what kind, then why."""
    kind = _(REFUSAL_KINDS.get(status, N_("未能办理")))
    return (
        kind if status == 404 else _("%(kind)s：%(why)s") % {"kind": kind, "why": in_words(detail)}
    )


def in_words(detail: object) -> str:
    """A refusal of the service layer as a sentence (never a status code)."""
    if isinstance(detail, list):  # Invalid: the fields and why
        return "；".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in detail)
    if isinstance(detail, dict):  # Pending
        return _("操作已提交，结果尚未返回，请稍后刷新本页查看。")
    return str(detail)


def is_phase(view: PetitionPublic, phase: Phase) -> bool:
    return view.phase == phase


def notice_label(kind: str) -> str:
    try:
        return pgettext("notice", NOTICE_LABELS[NoticeKind(kind)])
    except ValueError:
        return kind
