"""More 催办 (issue 11, item 6): a slow upload (上传) and the revisit window (回访/评价) get their
reminder slips before their deadlines (即将到期), the upload one more once it has passed
(已超期) — and none when the work is done in time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.settings import Settings
from domain.contracts import RateRequest
from domain.notices import REVISIT_DUE_SOON, UPLOAD_DUE_SOON, UPLOAD_EXPIRED
from domain.vocabulary import Closure, EventKind, Rating
from store import petitions
from tests.helpers.county import ON_BEHALF
from tests.helpers.settings import make_settings
from tests.helpers.upstream import ScriptedUpstream
from tests.helpers.workflows import DAY, Case, CaseFactory
from workflows.petition import PetitionWorkflow

MINUTE = timedelta(minutes=1)
# The upload is due 0.02 day (28.8 minutes) after the reply: its reminder goes at half the
# window (14.4 minutes), as the window is shorter than twice the day's lead.
POLICY = """
version: "test-aftercare"
default:
  aftercare_reminders: true
  upload_days: 0.02
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return make_settings(tmp_path, policy_file=policy)


@pytest.fixture
def upstream() -> ScriptedUpstream:
    return ScriptedUpstream()


async def reminders(case: Case, sessions: async_sessionmaker[Any]) -> dict[str, str]:
    """The aftercare reminder slips written so far: key → text."""
    await case.written()
    async with sessions() as session:
        rows = await petitions.notices(session, case.handle.id)
    return {
        n.key: n.text
        for n in rows
        if n.kind == "reminder" and n.key.startswith(("reminder-upload", "reminder-revisit"))
    }


async def test_a_slow_upload_and_an_unrated_revisit_are_reminded(
    case_factory: CaseFactory, upstream: ScriptedUpstream, sessions: async_sessionmaker[Any]
) -> None:
    upstream.script = ["down"] * 100  # the upper-level system is down for a while
    case = await case_factory()
    await case.accept()
    await case.complete()
    pending = {d.kind for d in (await case.state()).deadlines if not d.passed}
    assert {"upload", "revisit"} <= pending

    # The upload's retries keep an activity in flight: skip time without waiting for quiet.
    await case.written()
    await case.env.sleep(MINUTE * 20)
    slips = await reminders(case, sessions)
    assert list(slips) == ["reminder-upload-handling"]  # before its deadline: 即将到期
    assert UPLOAD_DUE_SOON in slips["reminder-upload-handling"]
    assert "上传期限" in slips["reminder-upload-handling"]

    await case.env.sleep(MINUTE * 15)  # past the deadline, still not acknowledged: 已超期
    slips = await reminders(case, sessions)
    assert UPLOAD_EXPIRED in slips["reminder-upload-handling-lapsed"]

    upstream.script = []  # back up: the next retry is acknowledged
    await case.env.sleep(MINUTE * 15)
    uploaded = await case.until(lambda s: s.uploaded)
    assert "upload" not in {d.kind for d in uploaded.deadlines}

    await case.sleep(DAY * 6)  # a day before the revisit window closes (7 days), unrated
    slips = await reminders(case, sessions)
    assert REVISIT_DUE_SOON in slips["reminder-revisit-handling"]
    state = await case.state()
    notes = [e.note for e in state.timeline if e.kind == EventKind.REMINDER]
    assert "回访期限：答复后回访并请信访人评价即将到期" in notes

    await case.sleep(DAY * 1)
    closed = await case.until(lambda s: s.closure is not None)
    assert closed.closure == Closure.NOT_REACHED
    assert len(await reminders(case, sessions)) == 3  # each once


async def test_no_aftercare_reminder_when_uploaded_and_rated_in_time(
    case_factory: CaseFactory, sessions: async_sessionmaker[Any]
) -> None:
    case = await case_factory()
    await case.accept()
    await case.complete()
    await case.until(lambda s: s.uploaded)
    await case.update(
        PetitionWorkflow.rate,
        RateRequest(rating=Rating.SATISFIED, comment="满意", **ON_BEHALF),
    )
    await case.until(lambda s: s.closure == Closure.SATISFIED)
    await case.sleep(DAY * 8)
    assert await reminders(case, sessions) == {}
    await case.handle.result()
