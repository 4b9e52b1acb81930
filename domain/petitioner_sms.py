"""The petitioner's SMS for a 告知 (issue 11, item 2): short, the petition number and the
decision, nothing internal (no officer, no unit's comments, no reasons: those are in the written
告知书 that follows). The gateway adds the signature (短信签名, e.g. 【青川县信访局】).

The delivery workflow calls :func:`petitioner_sms_for` with a ``NoticeKind.PETITIONER`` notice's
key and text, and sends the answer to the petitioner's phone (``petitions.petitioner_phone``)
when it is a mobile (``domain.contacts.is_mobile``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from domain.vocabulary import PHASE_LABELS, Phase


class Told(StrEnum):
    """What the petitioner is told (告知事项)."""

    ACCEPTED = "acceptance"  # 受理
    DECLINED = "decline"  # 不予受理
    EXTENDED = "extension"  # 延期
    REPLIED = "reply"  # 答复


# A petitioner notice's key, as the recorder writes it: petitioner-<what>[-<phase>].
_KEY = re.compile(
    r"^petitioner-(acceptance|decline|extension|reply)(?:-(handling|review|re_review))?$"
)
_DAYS = re.compile(r"延长(\d{1,3})日")


def told_from_key(notice_key: str) -> tuple[Told, Phase] | None:
    """What a petitioner notice tells, and in which round; None for a key of another kind."""
    match = _KEY.match(notice_key)
    if match is None:
        return None
    return Told(match.group(1)), Phase(match.group(2) or Phase.HANDLING)


def petitioner_sms(
    told: Told, petition_id: str, phase: Phase = Phase.HANDLING, extension_days: int | None = None
) -> str:
    """One SMS (短信), within 70 characters for a number of the usual length."""
    what = "信访事项" if phase is Phase.HANDLING else f"{PHASE_LABELS[phase]}申请"
    subject = f"您的{what}（编号{petition_id}）"
    if told is Told.ACCEPTED:
        return f"{subject}已受理，书面告知书将送达您。"
    if told is Told.DECLINED:
        return f"{subject}不予受理，理由和依据见书面告知书。"
    if told is Told.EXTENDED:
        by = f"延长{extension_days}日" if extension_days else "依法延长"
        return f"{subject}办理期限{by}，详见书面告知。"
    return f"{subject}已办结，答复意见书将送达您。"


def petitioner_sms_for(notice_key: str, petition_id: str, notice_text: str = "") -> str | None:
    """The SMS for a petitioner notice (its key and the text the recorder wrote), or None when
    the key is not one of the four 告知 (nothing is texted then)."""
    told = told_from_key(notice_key)
    if told is None:
        return None
    days = _DAYS.search(notice_text)
    return petitioner_sms(told[0], petition_id, told[1], int(days.group(1)) if days else None)
