"""The zh-CN wording of the petition's clock in one place: the slips (三单) and the overdue
notice, what the petitioner is told (告知), the timeline's notes, and the deadlines' names and
reasons, built from the policy's own values."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkdayCalendar
from domain.contracts import Deadline, Person
from domain.plan import PlannedStep, StepKind, day_unit, window_end
from domain.policy import BEIJING, EscalationPolicy
from domain.vocabulary import (
    NOTICE_LABELS,
    PHASE_LABELS,
    ROLE_LABELS,
    NoticeKind,
    Phase,
    ReachedBy,
    Role,
)

# ----------------------------------------------------------------------------- the slips


def notice_text(
    kind: NoticeKind,
    petition_id: str,
    level: int | None,
    recipient: Person,
    note: str | None,
    *,
    accept_days: float = 1,
    ask: str | None = None,
) -> str:
    """One line a person can act on: which slip, which petition, what is asked of them.
    ``accept_days`` is the policy's window to accept (受理), which the assignment slip names;
    ``ask`` replaces the kind's usual request when the moment calls for another (a reminder
    sent after its deadline, a 督办 before acceptance)."""
    label = NOTICE_LABELS[kind]
    who = f"{recipient.name}（{recipient.title}）"
    ask = (
        ask
        or {
            NoticeKind.ASSIGNMENT: f"该信访事项已交办你单位，请于{accept_days:g}日内受理。",
            NoticeKind.REMINDER: "该信访事项即将到期，请抓紧办理。",
            NoticeKind.SUPERVISION: (
                f"该信访事项未按期办结，现由{ROLE_LABELS[recipient.role]}督办，请落实办理。"
            ),
            NoticeKind.OVERDUE: "该信访事项已逾期未办结，请信访局跟踪督查并纳入考核。",
            NoticeKind.UPLOAD_REFUSED: "该信访事项的答复被上级信访信息系统拒收，请核对后重新上传。",
        }[kind]
    )
    at_level = f"（第{level}级）" if level else ""
    detail = f"{note}。" if note else ""
    return f"【{label}】{who}：信访事项 {petition_id}{at_level}。{ask}{detail}"


# What an intake slip asks once its window has passed (催办 after expiry, 督办 at the limit).
EXPIRED_REMINDER = "该信访事项已超期，请立即办理。"
UNACCEPTED_SUPERVISION = (
    "该信访事项逾期未受理，已超过依法决定是否受理的期限，请督促立即受理或依法书面告知不予受理。"
)
HANDLER_ASSIGNED = "该信访事项已由你单位受理并确定由你承办，请按期办理。"
UNASSIGNED_SUPERVISION = "该信访事项登记后逾期未交办，已超过法定交办期限，请督促立即交办。"


def vacant_post(role: Role) -> str:
    """Why the bureau's dispatcher received a slip meant for another post."""
    return f"{ROLE_LABELS[role]}岗位空缺，由信访局交办人员接收"


def petitioner_text(petition_id: str, message: str) -> str:
    """What the petitioner is told (告知); their name is added where the slip is delivered."""
    return f"【告知书】信访人：您的信访事项 {petition_id}：{message}。"


# ----------------------------------------------------------------------------- the deadlines


def _four_ones(days: float, rule: str) -> str:
    """ "四个一" names a one-day rule; a policy with another window cites itself instead."""
    return f"（“四个一”：一天内{rule}）" if days == 1 else f"（按政策{rule}时限）"


def _deadline(kind: str, due_at: datetime, description: str, reason: str) -> Deadline:
    return Deadline(kind=kind, due_at=due_at, description=description, reason=reason)


def assign_deadline(
    policy: EscalationPolicy, registered_at: datetime, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """交办期限: the bureau names the responsible unit within ``assign_days`` of registration
    (working days for a policy that counts them, given the ``calendar``)."""
    days = policy.assign_days
    due = window_end(policy, registered_at, days, calendar)
    reason = f"登记后{days:g}{day_unit(policy, calendar)}内交办{_four_ones(days, '交办')}"
    return _deadline("assign", due, "交办期限：登记后由信访局交办责任单位", reason)


def accept_deadline(
    policy: EscalationPolicy, assigned_at: datetime, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """受理期限: the unit accepts within ``accept_days`` of the assignment."""
    days = policy.accept_days
    due = window_end(policy, assigned_at, days, calendar)
    reason = f"交办后{days:g}{day_unit(policy, calendar)}内受理{_four_ones(days, '受理')}"
    return _deadline("accept", due, "受理期限：交办后责任单位受理", reason)


def acceptance_statutory_deadline(policy: EscalationPolicy, assigned_at: datetime) -> Deadline:
    """The statutory limit to decide and tell the petitioner (信访条例 arts. 21/22)."""
    days = policy.acceptance_notice_days
    due = assigned_at + policy.duration(days)
    reason = (
        f"收到信访事项之日起{days}日内决定是否受理并书面告知信访人（信访条例第二十一、二十二条）"
    )
    return _deadline("acceptance_statutory", due, "依法决定是否受理并书面告知的期限", reason)


def assign_statutory_deadline(policy: EscalationPolicy, registered_at: datetime) -> Deadline:
    """The bureau's statutory limit to hand a registered petition on (信访工作条例第二十一条:
    登记后15日内交办或转送), the same number of days the unit has to decide on acceptance."""
    days = policy.acceptance_notice_days
    due = registered_at + policy.duration(days)
    reason = f"信访部门收到信访事项之日起{days}日内交办或转送（信访工作条例第二十一条）"
    return _deadline("assign_statutory", due, "依法交办或转送的期限", reason)


# The aftercare windows: each one's description and its rule, done within its days of the reply.
_AFTER_REPLY = {
    "revisit": (
        "回访期限：答复后回访并请信访人评价",
        "回访（闭环管理：必回访）；逾期未评价按“未联系上”结案",
    ),
    "upload": (
        "上传期限：答复后上传上级信访信息系统",
        "上传上级信访信息系统（闭环管理：答复、上传、回访）",
    ),
}


def _after_reply(
    kind: str,
    days: float,
    policy: EscalationPolicy,
    replied_at: datetime,
    calendar: WorkdayCalendar | None,
) -> Deadline:
    description, rule = _AFTER_REPLY[kind]
    due = window_end(policy, replied_at, days, calendar)
    reason = f"答复后{days:g}{day_unit(policy, calendar)}内{rule}"
    return _deadline(kind, due, description, reason)


def revisit_deadline(
    policy: EscalationPolicy, replied_at: datetime, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """回访期限: the revisit follows the reply within ``revisit_days``."""
    return _after_reply("revisit", policy.revisit_days, policy, replied_at, calendar)


def upload_deadline(
    policy: EscalationPolicy, replied_at: datetime, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """上传期限: the reply reaches the upper-level system within ``upload_days``."""
    return _after_reply("upload", policy.upload_days, policy, replied_at, calendar)


def reminder_at(policy: EscalationPolicy, deadline: Deadline, since: datetime) -> datetime:
    """When a 催办单 goes before ``deadline`` (a window opened at ``since``): the policy's lead
    before it, or half the window when the window is shorter than twice the lead."""
    lead = min(policy.duration(policy.reminder_lead_days), (deadline.due_at - since) / 2)
    return deadline.due_at - lead


def due_soon(deadline: Deadline) -> str:
    """The note of a reminder sent before its deadline (the slip says 即将到期)."""
    return f"{deadline.description}即将到期"


# What an aftercare 催办单 asks: before the window closes (即将到期), or after it (已超期).
REVISIT_DUE_SOON = "该信访事项回访期限即将到期，请及时回访并请信访人评价。"
UPLOAD_DUE_SOON = "该信访事项的答复尚未上传上级信访信息系统，上传期限即将到期，请核查并及时上传。"
UPLOAD_EXPIRED = "该信访事项的答复上传已超期，请立即核查上传情况。"


def review_request_deadline(
    policy: EscalationPolicy,
    replied_at: datetime,
    next_phase: Phase,
    calendar: WorkdayCalendar | None = None,
) -> Deadline:
    """The window to ask for the next round (复查 or 复核), arts. 34/35."""
    days = policy.review_request_days
    label = PHASE_LABELS[next_phase]
    due = window_end(policy, replied_at, days, calendar)
    reason = (
        f"信访人对答复意见不服的，可自收到之日起{days:g}{day_unit(policy, calendar)}内请求{label}"
        "（信访条例第三十四、三十五条）"
    )
    return _deadline("review_request", due, f"申请{label}期限", reason)


def lapsed(deadline: Deadline) -> str:
    """The note of the reminder sent when an intake deadline has passed."""
    return f"{deadline.description}已届满"


def review_round_steps(
    steps: list[PlannedStep], phase: Phase, review_days: float
) -> list[PlannedStep]:
    """A 复查/复核 round's plan reads as that round: each step is labelled, and the deadline
    cites the review's own limit (arts. 34/35) instead of the track's."""
    label = PHASE_LABELS[phase]
    return [
        s.model_copy(
            update={
                "description": f"{label}：{s.description}",
                "reason": (
                    f"{label}自受理之日起{review_days:g}日内办结（信访条例第三十四、三十五条）"
                )
                if s.kind == StepKind.OVERDUE
                else s.reason,
            }
        )
        for s in steps
    ]


# ----------------------------------------------------------------------------- the timeline


def round_accepted(phase: Phase) -> str | None:
    """The acceptance note of a review round (办理 needs none)."""
    return None if phase == Phase.HANDLING else f"{PHASE_LABELS[phase]}受理"


def acceptance_told(phase: Phase) -> str:
    return f"已{PHASE_LABELS[phase]}受理，书面告知见告知书"


def declined(reason: str, legal_basis: str) -> str:
    return f"不予受理。理由：{reason}；依据：{legal_basis}"


def terminated_repeat(earlier: str) -> str:
    """Why a repeat of a matter terminated after re-review is not accepted (不予受理)."""
    return declined(
        f"同一事实和理由的信访事项{earlier}已经复核终结（三级终结），不再受理",
        "《信访工作条例》第三十五条",
    )


def transferred(old_unit: str | None, new_unit: str, reason: str) -> str:
    return f"由{old_unit}转办至{new_unit}。理由：{reason}"


def withdrawn(reason: str) -> str:
    return f"信访人撤回：{reason}"


def extension_requested(days: int, reason: str) -> str:
    return f"申请延期{days}日：{reason}"


def _who(person: Person) -> str:
    return f"{person.name}（{person.title}）"


def extension_refused(approver: Person, note: str | None) -> str:
    return f"{_who(approver)}不批准延期" + (f"：{note}" if note else "")


def extension_approved(approver: Person, days: int) -> str:
    return f"{_who(approver)}批准延期{days}日"


def reply_told(phase: Phase, reply: str) -> str:
    """答复告知: the petitioner learns the round is answered, and the answer."""
    what = "信访事项" if phase is Phase.HANDLING else f"{PHASE_LABELS[phase]}申请"
    return f"您的{what}已办结。答复意见：{reply}。书面答复意见书将送达您。"


def extension_told(days: int, reason: str) -> str:
    return f"办理期限延长{days}日，理由：{reason}"


def extension_approval(approver: Person, decided_at: datetime) -> str:
    """Who approved the extension and when, as the plan's reasons cite it."""
    return f"{approver.title}{approver.name}于{beijing_date(decided_at)}"


def beijing_date(moment: datetime) -> str:
    """A day as documents name it: the Beijing date, 2026年10月20日."""
    return f"{moment.astimezone(BEIJING):%Y年%m月%d日}"


def rated(rating: str, comment: str | None) -> str:
    return rating + (f"：{comment}" if comment else "")


REACHED_BY_LABELS = {
    ReachedBy.PHONE: "电话",
    ReachedBy.VISIT: "走访",
    ReachedBy.LETTER: "信函",
    ReachedBy.ONLINE: "网上",
}


def on_behalf(note: str, reached_by: ReachedBy, recorder: Person) -> str:
    """A rating or withdrawal as the timeline keeps it: how the petitioner was reached, and
    the dispatcher who recorded it for them (代为记录)."""
    return f"{note}（经{REACHED_BY_LABELS[reached_by]}联系信访人，{_who(recorder)}代为记录）"


def review_requested(next_phase: Phase, reason: str) -> str:
    return f"申请{PHASE_LABELS[next_phase]}：{reason}"


def owner_set(owner: Person) -> str:
    return f"{_who(owner)}包案"


def upload_refused(cause: str) -> str:
    return f"上级信访信息系统拒收：{cause}"


def uploaded(ack: str) -> str:
    return f"已上传上级信访信息系统（回执 {ack}）"
