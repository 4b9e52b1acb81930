"""The wording of the three slips (三单) and the overdue notice, in zh-CN."""

from __future__ import annotations

from domain.contracts import Person
from domain.vocabulary import NOTICE_LABELS, ROLE_LABELS, NoticeKind


def notice_text(
    kind: NoticeKind, petition_id: str, level: int | None, recipient: Person, note: str | None
) -> str:
    """One line a person can act on: which slip, which petition, what is asked of them."""
    label = NOTICE_LABELS[kind]
    who = f"{recipient.name}（{recipient.title}）"
    ask = {
        NoticeKind.ASSIGNMENT: "该信访事项已交办你单位，请于1日内受理。",
        NoticeKind.REMINDER: "该信访事项即将到期，请抓紧办理。",
        NoticeKind.SUPERVISION: (
            f"该信访事项未按期办结，现由{ROLE_LABELS[recipient.role]}督办，请落实办理。"
        ),
        NoticeKind.OVERDUE: "该信访事项已逾期未办结，请信访局跟踪督查并纳入考核。",
    }[kind]
    at_level = f"（第{level}级）" if level else ""
    detail = f"{note}。" if note else ""
    return f"【{label}】{who}：信访事项 {petition_id}{at_level}。{ask}{detail}"


def petitioner_text(petition_id: str, message: str) -> str:
    """What the petitioner is told (告知); their name is added where the slip is delivered."""
    return f"【告知书】信访人：您的信访事项 {petition_id}：{message}。"
