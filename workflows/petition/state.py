"""What one PetitionWorkflow remembers between steps, in one object: the public state (what a
query answers) and the clock's bookkeeping, so the whole of it could be handed to
``continue_as_new`` later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkdayCalendar
    from domain.contracts import AcceptRequest, Deadline, PetitionStart, PetitionState
    from domain.lifecycle import HANDLING_STAGES, round_key
    from domain.plan import PlannedStep
    from domain.policy import EscalationPolicy
    from domain.vocabulary import Stage


@dataclass
class RunState:
    """The petition's state plus what the main line and the update handlers share."""

    start: PetitionStart
    # The policy now applied: the start's, or the new unit's after 交办/转办.
    policy: EscalationPolicy
    state: PetitionState
    # The handling chain (办理链): this round's plan, bumped on every re-plan, and the steps
    # already taken (by round key).
    plan: list[PlannedStep] = field(default_factory=list)
    plan_version: int = 0
    taken: set[str] = field(default_factory=set)
    # Deadlines outside the plan: intake (交办, 受理, the statutory notice) and aftercare
    # (回访, the window to ask for review), by kind.
    other_deadlines: dict[str, Deadline] = field(default_factory=dict)
    # Intake (交办/受理): how many assignment slips went out, whether a transfer awaits its
    # own, and the unit's acceptance (its preferred handler).
    assignments: int = 0
    transferred: bool = False
    accept: AcceptRequest | None = None
    # Who received the latest 交办单 (the handler the unit accepts with, unless it names another).
    assigned_to: str | None = None
    # Counters the update handlers wait on: they answer once the main line has recorded
    # what they asked for, so the caller reads back what it did.
    rounds_started: int = 0
    completions: int = 0
    # Aftercare: the next round asked for, and when the window to ask for it closes.
    review_requested: bool = False
    review_due: datetime | None = None
    # Workflows started since v3 (the patch ``ANSWER_AT_DECISION``): an officer's update
    # answers once it is applied, the steps' projections are started without waiting
    # (``Recorder.flush``), and lookups run as local activities. Older histories keep the old
    # path.
    answers_at_decision: bool = False
    # Workflows started since each of these patches (workflow.py): the statutory intake limits
    # act (督办 at 15 days, 逾期未受理); the intake and aftercare windows count the unit's
    # working days; the 交办单 goes to the handler who handles the case.
    statutory_intake: bool = False
    working_windows: bool = False
    assignment_to_handler: bool = False
    # The working days of the years from the one it was looked up for (working_windows).
    calendar: tuple[int, WorkdayCalendar] | None = None
    # Workflows started since issue 10 (the patch ``PETITIONER_SIDE``): a rating or withdrawal
    # must name the bureau's dispatcher who recorded it and how the petitioner was reached.
    on_petitioner_side: bool = False
    # A repeat of a terminated matter (三级终结), declined from the start (the patch
    # ``TERMINATED_NOT_RUN_AGAIN``).
    declines_repeat: bool = False
    # Workflows started since issue 9 (the patch ``PLAN_IN_WORKFLOW``): the round's plan is
    # computed here from ``calendar``; older histories looked it up (``plan_handling``).
    plans_in_workflow: bool = False
    # Issue 11 (the patch ``AFTERCARE_REMINDERS``): 催办 before the revisit window closes and
    # when the upload is slow, with the upload's own deadline.
    aftercare_reminders: bool = False
    # Issue 11 (the patch ``DELIVERIES_IN_WORKFLOW``): the notices are sent by this workflow's
    # own activities (workflows/petition/delivery.py), not by a workflow per notice.
    delivers_notices: bool = False
    # Issue 11 (the patch ``deliveries-batched``, decided by Deliveries): a step's sends go out
    # as one activity, not one per notice and channel.
    batches_sends: bool = False
    # Issue 11 (the patch ``deliveries-outboxed``, decided by Deliveries): ``record_step`` writes
    # the step's notices as the outbox's, and the notices' process routes and sends them; this
    # workflow runs no send (only the 签收 waits and their 催办).
    outboxes_sends: bool = False
    # Issue 11 (the patch ``signatures-watched-in-outbox``, decided by Deliveries): the 签收 of a
    # 督办单 is awaited by the notices' process, which writes the 催办; no timer here.
    outbox_watches_signing: bool = False
    # Issue 11 (the patch ``PETITIONER_TOLD_OF_REPLY``): the reply's step tells the petitioner.
    tells_reply: bool = False
    # Issue 9 (the patch ``LEADER_FOUND_BY_WRITER``): the 告知书's supervising leader is looked
    # up by the activity that writes it, not in the acceptance's workflow task.
    writer_finds_leader: bool = False
    # Issue 9 (the patch ``CHAIN_WRITTEN_LOCALLY``): a chain step (催办, 督办, 逾期) is written by a
    # local activity inside the workflow task that took it, not an activity of its own.
    chain_written_locally: bool = False
    # Issue 9 (the patch ``TIMED_STEPS_WRITTEN_LOCALLY``): so are the other steps nobody waits
    # for: the registration's at the start, the intake's and aftercare's timed 催办 and 督办,
    # and the 上传's outcome.
    timed_written_locally: bool = False
    # Issue 9 (the patch ``DUE_MOVES_WITH_THE_STEP``): a chain step's deadlines are refreshed
    # before it is recorded, so its record and PetitionDueAt show the next moment due, not the
    # one just taken.
    due_moves_with_step: bool = False
    # Issue 9 (the patch ``chain-step-one-activity``): a chain step is one local activity that
    # looks up who holds the post and writes the step, not a lookup and then a record.
    chain_step_one_activity: bool = False
    # Issue 9 (the patch ``PATCHES_THROUGH_V13``): the patches above, taken all at once by a
    # petition started since, with one marker instead of one each (``patched``).
    bundled: frozenset[str] = frozenset()
    all_bundled: bool = False

    def patched(self, patch: str) -> bool:
        """``workflow.patched(patch)`` for a patch of the bundle: true, with no marker of its
        own, in a petition started with the bundle's marker. Only for the bundle's patches: a
        later one calls ``workflow.patched`` itself, for a history with the bundle's marker never
        took it (README, "Changing the workflow")."""
        assert patch in self.bundled, f"{patch} is not in the bundle: use workflow.patched"
        return self.all_bundled or workflow.patched(patch)

    @classmethod
    def begin(cls, start: PetitionStart) -> RunState:
        """A petition as registered: waiting for the bureau, or assigned at once."""
        return cls(
            start=start,
            policy=start.policy,
            state=PetitionState(
                id=start.petition_id,
                unit_id=start.unit_id,
                track=start.track,
                category=start.category,
                stage=Stage.REGISTERED if start.unit_id is None else Stage.ASSIGNED,
                registered_at=start.registered_at,
                assigned_at=None if start.unit_id is None else start.registered_at,
                policy_version=start.policy.version,
            ),
        )

    @property
    def handling(self) -> bool:
        return self.state.stage in HANDLING_STAGES

    def key(self, step: PlannedStep) -> str:
        return round_key(self.state.phase, step.key)

    def hand_to(self, unit_id: str, now: datetime) -> None:
        """交办 or 转办: the unit is responsible from ``now``, on its own policy (the book's unit
        and category overrides, from the version the petition was registered under)."""
        self.state.unit_id = unit_id
        self.state.assigned_at = now
        book = self.start.policy_book
        if book is not None:
            self.policy = book.policy_for(unit_id, self.state.category, self.policy.day_seconds)
        self.state.policy_version = self.policy.version
