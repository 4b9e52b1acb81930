"""One planned petition's life as its people live it (issue 13, item 7): registered, assigned,
accepted or declined, answered, rated, 复查 asked — the same acts in the same order whichever
way the simulator plays them (worker/simulate.py: through Temporal's time-skipping server, or
worker/simulate_fast.py: the workflow's own code on a virtual clock). A ``Stage`` says how."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from activities.upload import ReplyUpload, UploadReceipt
from domain.contracts import (
    AcceptRequest,
    AssignRequest,
    CompleteRequest,
    DeclineRequest,
    Person,
    RateRequest,
    ReviewRequest,
)
from domain.policy import BEIJING
from domain.simulation import SUMMARIES, PlannedPetition
from domain.vocabulary import ReachedBy, Role
from workflows.petition import PetitionWorkflow as W

BUREAU_CLERK = Person(
    person_id="bureau-01", name="王建国", title="信访局交办科科长", role=Role.BUREAU_DISPATCHER,
    unit_id="bureau",
)  # fmt: skip
DAY = timedelta(days=1)


def upload_ack(petition_id: str) -> str:
    """The upper-level system's acknowledgement of a simulated upload."""
    return f"sim-{petition_id}"


class Uploaded:
    """The upper-level system, answering at once (the simulation is about the county)."""

    async def upload(self, record: ReplyUpload) -> UploadReceipt:
        return UploadReceipt(
            ack_id=upload_ack(record.petition_id), received_at=datetime.now(BEIJING), target="sim"
        )


def intake_of(plan: PlannedPetition) -> dict[str, Any]:
    """The intake record (登记) of a planned petition, as the bureau's clerk would fill it."""
    return {
        "channel": plan.channel.value,
        "petitioner_name": plan.name,
        "petitioner_phone": plan.phone,
        "petitioner_id_number": None,
        "persons": plan.persons,
        "category": plan.category.value,
        "summary": SUMMARIES[plan.category],
        "content": f"{SUMMARIES[plan.category]}，请求协调解决。",
        "unit_id": plan.unit_id if plan.assigned_at_intake else None,
        "track": plan.track.value,
        "repeat_of": None,
        # Issue 13's report facts (去向, 初信初访, 重点信访人), as the clerk marks them.
        "destination_level": plan.destination_level,
        "first_time": plan.first_time,
        "key_petitioner": plan.key_petitioner,
    }


class Stage(Protocol):
    """Where a life is played: its clock, the registration, and the officers' updates."""

    @property
    def now(self) -> datetime: ...

    async def at(self, moment: datetime) -> None: ...

    async def register(self, plan: PlannedPetition) -> str: ...

    async def act(self, petition_id: str, update: Any, request: Any) -> bool:
        """The update through its validator; False when refused (recorded by the stage)."""
        ...


async def live(stage: Stage, plan: PlannedPetition, shift: timedelta) -> None:
    """One petition's life as planned, its moments ``shift`` later on the stage's clock."""
    await stage.at(plan.arrival + shift)
    pid = await stage.register(plan)
    if not plan.assigned_at_intake:
        await stage.at(stage.now + plan.assign_days * DAY)
        await stage.act(pid, W.assign, AssignRequest(unit_id=plan.unit_id))
    await stage.at(stage.now + plan.accept_days * DAY)
    if plan.declined:
        reason = DeclineRequest(
            reason="不属于本单位职责范围", legal_basis="《信访工作条例》第三十条"
        )
        await stage.act(pid, W.decline, reason)
        return
    rounds = [(plan.reply_days, plan.rating, plan.rate_days)]
    if plan.review is not None:
        r = plan.review
        rounds.append((r.reply_days, r.rating, 1.0))
    for n, (reply_days, rating, rate_days) in enumerate(rounds):
        if n:  # 复查: asked within the window, accepted by the review body
            await stage.at(stage.now + plan.review.after_days * DAY)  # type: ignore[union-attr]
            # The review body takes it up at once (复查 starts in handling).
            if not await stage.act(pid, W.request_review, ReviewRequest(reason="对答复不满意")):
                return
        elif not await stage.act(pid, W.accept, AcceptRequest()):
            return
        await stage.at(stage.now + reply_days * DAY)
        await stage.act(pid, W.complete, CompleteRequest(reply="经调查核实，已依法依规答复。"))
        await stage.at(stage.now + rate_days * DAY)
        if rating is None:
            return  # not reached: the revisit window closes it
        on_behalf = {"reached_by": ReachedBy.PHONE, "recorded_by": BUREAU_CLERK}
        await stage.act(pid, W.rate, RateRequest(rating=rating, **on_behalf))
