"""Issue 10 on the time-skipping server: only the petitioner's side closes the loop (item 3),
and the overdue notice reaches the county leaders of the chain (item 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.upload import UpstreamSystem
from core.settings import PROJECT_DIR
from domain.access import PETITIONER_SIDE_RULE
from domain.contracts import OwnerRequest, PetitionState, RateRequest, WithdrawRequest
from domain.vocabulary import EventKind, Rating, ReachedBy, Role
from tests.helpers.county import ON_BEHALF, demo_person
from tests.helpers.settings import make_settings
from tests.helpers.temporal import worker_for
from tests.helpers.workflows import DAY, Case, CaseFactory, start_case
from workflows.petition import PetitionWorkflow


async def _rate(case: Case, rating: Rating) -> PetitionState:
    return await case.update(PetitionWorkflow.rate, RateRequest(rating=rating, **ON_BEHALF))


async def test_a_rating_or_withdrawal_not_recorded_by_the_bureau_is_refused(
    case_factory: CaseFactory,
) -> None:
    """Issue 10, item 3: the workflow refuses too, as anyone who reaches Temporal can send an
    update; what it takes names the dispatcher and how the petitioner was reached."""
    case = await case_factory()
    await case.accept()
    assert PETITIONER_SIDE_RULE in await case.refusal(
        PetitionWorkflow.withdraw, WithdrawRequest(reason="撤回")
    )
    await case.complete()
    handler = demo_person("dongguan-h1", Role.HANDLER, "dongguan")
    for forged in (
        RateRequest(rating=Rating.SATISFIED),
        RateRequest(rating=Rating.SATISFIED, reached_by=ReachedBy.PHONE, recorded_by=handler),
    ):
        assert PETITIONER_SIDE_RULE in await case.refusal(PetitionWorkflow.rate, forged)
    unreached = RateRequest(rating=Rating.SATISFIED, recorded_by=ON_BEHALF["recorded_by"])
    assert "reached_by" in await case.refusal(PetitionWorkflow.rate, unreached)
    rated = await _rate(case, Rating.SATISFIED)
    event = rated.timeline[-1]
    assert (event.kind, event.person_id) == (EventKind.RATED, "bureau-01")
    assert event.note is not None and "经电话联系信访人" in event.note


async def test_the_overdue_notice_reaches_the_county_leaders_per_the_policy(
    time_env: WorkflowEnvironment,
    sessions: async_sessionmaker[Any],
    tmp_path: Path,
    started: list[str],
    upstream: UpstreamSystem,
) -> None:
    """Issue 10, item 4: 逾期通报 goes to the bureau and the unit's county contact leader, and
    to the county principal leader only while the policy says so (here it does not: the
    default's is tests/workflows/test_petition_workflow.py); a leader told already as the
    case's owner is told once."""
    book = tmp_path / "policy.yaml"
    book.write_text(
        (PROJECT_DIR / "policy.yaml")
        .read_text(encoding="utf-8")
        .replace("overdue_to_principal_leader: true", "overdue_to_principal_leader: false"),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, policy_file=book)
    async with worker_for(time_env.client, settings, sessions, upstream):
        plain, owned = [
            await start_case(time_env, sessions, settings, "simple", started=started)
            for _ in range(2)
        ]
        for case in (plain, owned):
            await case.accept()
        owner = demo_person("cl-01", Role.COUNTY_CONTACT_LEADER, "dongguan")
        await owned.update(PetitionWorkflow.set_owner, OwnerRequest(owner=owner))
        await plain.sleep(DAY * 7.5)
        for case in (plain, owned):
            await case.until(lambda s: s.overdue)
        told = [[n for n in await c.notices() if n[0] == "overdue"] for c in (plain, owned)]
    assert told[0] == [
        ("overdue", "overdue:county_contact_leader", "cl-01"),
        ("overdue", "overdue", "bureau-01"),
    ]
    assert told[1] == [
        ("overdue", "overdue", "bureau-01"),
        ("overdue", "overdue:owner", "cl-01"),
    ]
