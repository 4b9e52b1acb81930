"""专报 (issue 13): a petition the bureau marks for the county's principal leaders at once
(进京访, 扬言, 极端, 不稳定), told in a notice that carries the case's timeline, so a leader reads
what happened so far without opening the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.policy import BEIJING
from domain.report_rules import SPECIAL_LABELS
from domain.vocabulary import EventKind

EVENT_LABELS: dict[str, str] = {
    EventKind.REGISTERED: "登记",
    EventKind.ASSIGNED: "交办",
    EventKind.ACCEPTED: "受理",
    EventKind.REMINDER: "催办",
    EventKind.SUPERVISION: "督办",
    EventKind.OVERDUE: "逾期",
    EventKind.INTAKE_OVERDUE: "逾期未交办/受理",
    EventKind.COMPLETED: "办结答复",
    EventKind.TRANSFERRED: "转办",
    EventKind.DECLINED: "不予受理",
    EventKind.WITHDRAWN: "撤回",
    EventKind.EXTENSION_REQUESTED: "申请延期",
    EventKind.EXTENSION_APPROVED: "批准延期",
    EventKind.EXTENSION_REFUSED: "不批准延期",
    EventKind.OWNER_SET: "领导包案",
    EventKind.NOTIFIED: "告知信访人",
    EventKind.UPLOADED: "上传",
    EventKind.RATED: "回访评价",
    EventKind.REVIEW_REQUESTED: "申请复查/复核",
    EventKind.CLOSED: "结案",
    EventKind.SIGNED: "签收",
}


@dataclass(frozen=True)
class Step:
    """One entry of the case's timeline as the notice tells it."""

    at: datetime
    kind: str
    who: str | None
    note: str | None


def notice_text(
    petition_id: str, summary: str, unit_name: str, kind: str, reason: str, steps: list[Step]
) -> str:
    """The 专报 as the principal leaders' inbox shows it: what, why, and the case so far."""
    lines = [
        f"【专报·{SPECIAL_LABELS.get(kind, kind)}】信访事项{petition_id}（{summary}），"
        f"责任单位：{unit_name}。",
        f"专报事由：{reason}",
        "办理经过：",
    ]
    for step in steps:
        when = f"{step.at.astimezone(BEIJING):%m月%d日%H:%M}"
        what = EVENT_LABELS.get(step.kind, step.kind)
        who = f"（{step.who}）" if step.who else ""
        note = f"：{step.note}" if step.note else ""
        lines.append(f"{when} {what}{who}{note}")
    lines.append("请阅示。")
    return "\n".join(lines)
