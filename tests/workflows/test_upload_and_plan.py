"""Upload through an unreliable upper-level system, and deadlines planned in working days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from activities.petition import PetitionActivities
from activities.upload import DirectoryUpstream
from core.settings import Settings
from domain.calendar import DayCount
from domain.contracts import PlanRequest, RateRequest, UploadRequest
from domain.plan import StepKind
from domain.policy import BEIJING, EscalationPolicy
from domain.vocabulary import Closure, EventKind, Phase, Rating, Track
from tests.helpers.county import ON_BEHALF
from tests.helpers.store import register_petition
from tests.helpers.upstream import ScriptedUpstream
from tests.helpers.workflows import DAY, CaseFactory
from workflows.petition import PetitionWorkflow


@pytest.fixture
def upstream() -> Iterator[ScriptedUpstream]:
    yield ScriptedUpstream()


async def test_upload_is_retried_until_acknowledged_then_rated(
    case_factory: CaseFactory, upstream: ScriptedUpstream
) -> None:
    upstream.script = ["down", "down", "down"]
    case = await case_factory()
    await case.accept()
    await case.complete("已协调企业支付全部拖欠工资。")
    await case.env.sleep(DAY * 1)  # the retries back off in workflow time
    uploaded = await case.until(lambda s: s.uploaded)
    event = next(e for e in uploaded.timeline if e.kind == EventKind.UPLOADED)
    assert event.note is not None and "ACK-1" in event.note
    assert upstream.script == []  # three refusals, each retried
    [record] = upstream.received
    assert record.reply == "已协调企业支付全部拖欠工资。" and record.unit_name == "东关镇人民政府"
    rated = await case.update(
        PetitionWorkflow.rate,
        RateRequest(rating=Rating.BASICALLY_SATISFIED, comment="基本满意", **ON_BEHALF),
    )
    assert rated.rating == Rating.BASICALLY_SATISFIED
    closed = await case.until(lambda s: s.closure == Closure.BASICALLY_SATISFIED)
    assert closed.uploaded
    await case.handle.result()


async def test_refused_upload_is_recorded_and_the_bureau_told(
    case_factory: CaseFactory, upstream: ScriptedUpstream
) -> None:
    upstream.script = ["refuse"]
    case = await case_factory()
    await case.accept()
    await case.complete()
    state = await case.until(lambda s: EventKind.UPLOADED in [e.kind for e in s.timeline])
    assert not state.uploaded
    event = next(e for e in state.timeline if e.kind == EventKind.UPLOADED)
    assert event.note is not None and "拒收" in event.note and "印章" in event.note
    # Its own kind of slip (issue 10): a refusal is no 催办单.
    assert ("upload_refused", "upload-refused-handling", "bureau-01") in await case.notices()


async def test_review_reply_is_uploaded_beside_the_handling_reply(
    sessions: async_sessionmaker[Any], settings: Settings, tmp_path: Path
) -> None:
    """The activity names each round's reply upstream: a 复查 reply once replaced the first."""
    petition_id = await register_petition(sessions, settings=settings)
    outbox = tmp_path / "upstream"
    activities = PetitionActivities(sessions, DirectoryUpstream(outbox))
    replied_at = datetime(2026, 3, 6, 9, 0, tzinfo=BEIJING)
    for phase, reply in ((Phase.HANDLING, "办理答复"), (Phase.REVIEW, "复查答复")):
        await activities.upload_reply(
            UploadRequest(petition_id=petition_id, phase=phase, replied_at=replied_at, reply=reply)
        )
    handling = (outbox / f"{petition_id}.json").read_text(encoding="utf-8")
    review = (outbox / f"{petition_id}-review.json").read_text(encoding="utf-8")
    assert "办理答复" in handling and '"phase": "handling"' in handling
    assert "复查答复" in review and '"phase": "review"' in review


async def test_working_days_skip_national_day(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    """Accepted on Friday 25 September 2026 with a 5-working-day deadline: the Chinese calendar
    (Mid-Autumn and National Day holidays, 调休) says 9 October, not 30 September."""
    activities = PetitionActivities(sessions, DirectoryUpstream(tmp_path / "upstream"))
    policy = EscalationPolicy(day_count=DayCount.WORKING, simple_deadline_days=5)
    accepted = datetime(2026, 9, 25, 9, 0, tzinfo=BEIJING)
    planned = await activities.plan_handling(
        PlanRequest(policy=policy, track=Track.SIMPLE, phase=Phase.HANDLING, accepted_at=accepted)
    )
    overdue = next(s for s in planned.steps if s.kind == StepKind.OVERDUE)
    assert overdue.at.astimezone(BEIJING) == datetime(2026, 10, 9, 9, 0, tzinfo=BEIJING)
    assert "工作日" in overdue.reason and "国庆" in overdue.reason
    calendar = await activities.plan_handling(
        PlanRequest(
            policy=policy.model_copy(update={"day_count": DayCount.CALENDAR}),
            track=Track.SIMPLE,
            phase=Phase.HANDLING,
            accepted_at=accepted,
        )
    )
    plain = next(s for s in calendar.steps if s.kind == StepKind.OVERDUE)
    assert plain.at.astimezone(BEIJING) == datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING)


async def test_review_rounds_are_planned_on_the_review_deadline(
    sessions: async_sessionmaker[Any], tmp_path: Path
) -> None:
    activities = PetitionActivities(sessions, DirectoryUpstream(tmp_path / "upstream"))
    accepted = datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING)
    planned = await activities.plan_handling(
        PlanRequest(
            policy=EscalationPolicy(review_days=30),
            track=Track.SIMPLE,
            phase=Phase.REVIEW,
            accepted_at=accepted,
        )
    )
    overdue = next(s for s in planned.steps if s.kind == StepKind.OVERDUE)
    assert overdue.at - accepted == DAY * 30  # not the simple track's 7 days
    assert "复查" in overdue.reason and "第三十四" in overdue.reason
