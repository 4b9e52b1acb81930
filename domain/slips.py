"""The numbered documents (文号): which slips and documents carry the county's yearly number,
how a number reads (青信督〔2026〕12号), and which deadline a printed slip names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.contracts import Deadline
from domain.policy import BEIJING
from domain.vocabulary import NoticeKind

# The written documents of a petition besides the slips (documents table kinds).
ACCEPTANCE_NOTICE = "acceptance_notice"  # 受理告知书 (四告知)
REPLY_OPINION = "reply_opinion"  # 答复意见书

# The character of each kind in the number (交办单 → 青信交〔2026〕1210号). Each kind counts on
# its own, from 1 every Beijing calendar year. The petitioner's short 告知 slips and the upload
# refusal are messages, not formal documents: they carry no number.
NUMBER_CODES: dict[str, str] = {
    NoticeKind.ASSIGNMENT.value: "交",
    NoticeKind.REMINDER.value: "催",
    NoticeKind.SUPERVISION.value: "督",
    NoticeKind.OVERDUE.value: "逾",
    ACCEPTANCE_NOTICE: "告",
    REPLY_OPINION: "复",
}

DOCUMENT_TITLES: dict[str, str] = {
    NoticeKind.ASSIGNMENT.value: "信访事项交办单",
    NoticeKind.REMINDER.value: "信访事项催办单",
    NoticeKind.SUPERVISION.value: "信访事项督办单",
    NoticeKind.OVERDUE.value: "信访事项逾期通报",
    ACCEPTANCE_NOTICE: "信访事项受理告知书",
    REPLY_OPINION: "信访事项答复意见书",
}


def numbered(kind: str) -> bool:
    return kind in NUMBER_CODES


def number_year(moment: datetime) -> int:
    """The year a document is numbered in: the Beijing calendar year it was issued."""
    return moment.astimezone(BEIJING).year


def document_number(prefix: str, kind: str, year: int | None, serial: int | None) -> str | None:
    """青信督〔2026〕12号: the county's prefix (its abbreviation and 信 for the bureau), the kind's
    character, the year in 〔〕 and the serial. None for a document without a number."""
    if year is None or serial is None or kind not in NUMBER_CODES:
        return None
    return f"{prefix}{NUMBER_CODES[kind]}〔{year}〕{serial}号"


def slip_deadline(deadlines: Iterable[Deadline], issued_at: datetime) -> Deadline | None:
    """The deadline a slip asks to be met: the nearest one still ahead when it was issued (the
    accept deadline for a 交办单, the next level's week for a 督办单), with its reason."""
    ahead = [d for d in deadlines if not d.passed and d.due_at > issued_at]
    return min(ahead, key=lambda d: d.due_at, default=None)
