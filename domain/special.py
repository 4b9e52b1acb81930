"""专报 (issue 13): a petition the bureau marks for the county's principal leaders at once
(进京访, 扬言, 极端, 不稳定), told in a notice that carries the case's timeline, so a leader reads
what happened so far without opening the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.policy import BEIJING
from domain.report_rules import SPECIAL_LABELS
from domain.vocabulary import EVENT_LABELS


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
