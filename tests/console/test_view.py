"""The console's pure helpers: a deadline's colour and words, where a form may send the
browser back to, a refusal in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.console.render import local_path
from api.console.view import countdown, refusal_in_words
from domain.contracts import Deadline

NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


def _due(after: timedelta) -> Deadline:
    return Deadline(
        kind="escalation", due_at=NOW + after, description="升级至第2级", reason="受理后7日"
    )


def test_overdue_is_red_due_within_a_day_amber_otherwise_plain() -> None:
    late, soon, later = (
        countdown(_due(after), NOW)
        for after in (timedelta(hours=-3), timedelta(hours=5), timedelta(days=3, hours=2))
    )
    assert (late.urgency, late.left) == ("overdue", "已超期3小时0分")
    assert (soon.urgency, soon.left) == ("soon", "剩余5小时0分")
    assert (later.urgency, later.left) == ("", "剩余3天2小时")
    assert later.due == "2026-05-07 12:00"  # Beijing time
    assert countdown(_due(timedelta(seconds=12)), NOW).left == "剩余12秒"


def test_a_form_sends_the_browser_back_to_this_site_only() -> None:
    assert local_path("/petitions/XF-2026-000001?x=1") == "/petitions/XF-2026-000001?x=1"
    for elsewhere in ("//evil.example", "/\\evil.example", "https://evil.example", ""):
        assert local_path(elsewhere) == "/"


def test_a_refusal_is_said_in_words() -> None:
    assert refusal_in_words(404, "petition XF-1 not found") == (
        "未找到该信访事项，或不在您的查阅范围内"
    )
    assert refusal_in_words(409, "petition XF-1 cannot be accepted: it is already handling") == (
        "当前阶段不能办理：petition XF-1 cannot be accepted: it is already handling"
    )
    assert refusal_in_words(422, [{"msg": "no responsible unit 'x'"}]) == (
        "填写有误：no responsible unit 'x'"
    )
