"""The slips (交办单, 催办单, 督办单, 逾期通报) and the written documents (受理告知书, 答复意见书)
as printable pages: each found within the petition the reader may read, filled from the read
model, rendered as A4 HTML or as the same page in PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.errors import NotFound, Unavailable
from api.service.case import Case
from core.printing import PrintingUnavailable, render_html, render_pdf
from domain.contracts import Deadline
from domain.notices import beijing_date
from domain.policy import BEIJING
from domain.slips import DOCUMENT_TITLES, REPLY_OPINION, document_number
from domain.vocabulary import NOTICE_LABELS, PHASE_LABELS, ROLE_LABELS, NoticeKind, Phase, Role
from store import directory, petitions

# What each slip asks, as its form heads the line.
ASK_LABELS = {
    NoticeKind.ASSIGNMENT.value: "交办事项",
    NoticeKind.REMINDER.value: "催办事项",
    NoticeKind.SUPERVISION.value: "督办事项",
    NoticeKind.OVERDUE.value: "通报事项",
}
# After 复核 nothing more is asked: the same facts and reasons are not accepted again.
_FINAL = "本意见为复核意见。信访人对复核意见不服，仍以同一事实和理由提出投诉请求的，不再受理。"


async def notice_page(case: Case, notice_id: int) -> str:
    """One slip of the petition as A4 HTML; NotFound when the petition has no such slip."""
    row = await case.petition()
    notice = await petitions.notice(case.session, row.id, notice_id)
    if notice is None:
        raise NotFound(f"petition {row.id} has no notice {notice_id}")
    unit_name = await _unit_name(case, row.unit_id)
    title = DOCUMENT_TITLES.get(notice.kind, NOTICE_LABELS[NoticeKind(notice.kind)])
    role = ROLE_LABELS.get(Role(notice.recipient_role), notice.recipient_role)
    deadline = Deadline.model_validate(notice.deadline) if notice.deadline else None
    return render_html(
        "slip.html.j2",
        title=title,
        number=_number(case, notice.kind, notice.serial_year, notice.serial),
        issuer=await _bureau_name(case),
        date=beijing_date(notice.created_at),
        petition_id=row.id,
        summary=row.summary,
        unit_name=unit_name,
        recipient=f"{notice.recipient_name}（{role}）",
        level=notice.level,
        ask_label=ASK_LABELS.get(notice.kind, "事项"),
        text=notice.text,
        deadline=_deadline(deadline),
    )


async def document_page(case: Case, document_id: int) -> str:
    """One written document of the petition (告知书, 答复意见书) as A4 HTML."""
    row = await case.petition()
    document = await petitions.document(case.session, row.id, document_id)
    if document is None:
        raise NotFound(f"petition {row.id} has no document {document_id}")
    common: dict[str, Any] = {
        "title": DOCUMENT_TITLES.get(document.kind, "信访文书"),
        "number": _number(case, document.kind, document.serial_year, document.serial),
        "issuer": None,
        "text": document.text,
    }
    if document.kind != REPLY_OPINION:
        # The 告知书's text was written whole at acceptance (its unit, date and signature in it).
        return render_html("acceptance_notice.html.j2", **common)
    details = document.details or {}
    phase = Phase(details.get("phase", Phase.HANDLING.value))
    return render_html(
        "reply_opinion.html.j2",
        **common,
        petitioner_name=row.petitioner_name,
        summary=row.summary,
        petition_id=row.id,
        unit_name=await _unit_name(case, details.get("unit_id")),
        phase_label=PHASE_LABELS[phase],
        date=beijing_date(document.created_at),
        review=_review_right(row.deadlines, phase),
    )


async def as_pdf(html: str) -> bytes:
    """The page as PDF; Unavailable (503, naming the missing package) when this server cannot
    print Chinese."""
    try:
        return await render_pdf(html)
    except PrintingUnavailable as exc:
        raise Unavailable(str(exc)) from exc


def _number(case: Case, kind: str, year: int | None, serial: int | None) -> str | None:
    return document_number(case.services.settings.document_prefix, kind, year, serial)


async def _unit_name(case: Case, unit_id: str | None) -> str:
    unit = await directory.get_unit(case.session, unit_id) if unit_id else None
    return unit.name if unit else (unit_id or "信访局")


async def _bureau_name(case: Case) -> str:
    bureau = await directory.bureau_unit_id(case.session)
    return await _unit_name(case, bureau) if bureau else "信访局"


def _deadline(deadline: Deadline | None) -> dict[str, str] | None:
    if deadline is None:
        return None
    return {
        "description": deadline.description,
        "due": _beijing_minute(deadline.due_at),
        "reason": deadline.reason or "按规定期限",
    }


def _beijing_minute(moment: datetime) -> str:
    return f"{moment.astimezone(BEIJING):%Y年%m月%d日%H时%M分}"


def _review_right(deadlines: list[dict[str, Any]], phase: Phase) -> str | None:
    """What the petitioner may do if not satisfied: the window to ask for the next round, as
    the petition's deadlines name it (its reason cites the regulation), or nothing more after
    复核."""
    if phase == Phase.RE_REVIEW:
        return _FINAL
    window = next((d for d in deadlines if d.get("kind") == "review_request"), None)
    if window is None:
        return None
    due = Deadline.model_validate(window)
    return f"{due.reason}。申请期限至{_beijing_minute(due.due_at)}。"
