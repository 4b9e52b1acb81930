"""PetitionWorkflow: owns one petition's clock through the closed loop (闭环):
登记 → 交办 → 受理 (or 不予受理 / 转办) → 告知 → 办理 → 答复 → 上传 → 回访, then 复查 and 复核.

It decides; activities act. Every transition is written by ``record_step`` (read model,
timeline and notice outbox in one transaction, deduplicated by step key), so a worker killed at
any point resumes where it was and never sends a slip twice. Officers' actions are updates whose
validators ask ``domain.lifecycle`` what the stage allows (the API's 409). An update answers
within the workflow task that applies it (local-activity lookups; since v3 what it leads to is
written after it answered, ``Recorder.flush``). The main line is here; intake, the handling
chain, aftercare, the recorder and the notices' delivery are the classes beside it.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import notices
    from domain.access import Action, on_behalf_refusal
    from domain.contracts import (
        AcceptRequest,
        AssignRequest,
        CompleteRequest,
        DeclineRequest,
        Extension,
        ExtensionDecision,
        ExtensionRequest,
        OnBehalf,
        OwnerRequest,
        Person,
        PetitionStart,
        PetitionState,
        RateRequest,
        ReviewRequest,
        TransferRequest,
        WithdrawRequest,
    )
    from domain.lifecycle import NEXT_PHASE, ActionRequest, refusal
    from domain.notice_delivery import SIGNED_FOR
    from domain.vocabulary import Closure, EventKind, NoticeKind, Phase, Role, Stage

# The classes beside the workflow are passed through too (Temporal's sandbox guide): the sandbox
# would re-run them for every workflow, 8 % of the worker's CPU (issue 9). Since then the
# workflow runs outside the sandbox altogether (its ``workflow.defn`` says why); the blocks
# stay, so the modules import the same way under a sandboxed runner too.
with workflow.unsafe.imports_passed_through():
    from workflows.petition.aftercare import Aftercare
    from workflows.petition.chain import OVERDUE_TO_COUNTY_LEADERS, HandlingChain
    from workflows.petition.delivery import (
        DELIVERIES_BATCHED,
        DELIVERIES_OUTBOXED,
        SIGNATURES_IN_OUTBOX,
        Deliveries,
    )
    from workflows.petition.intake import Intake
    from workflows.petition.recorder import Recorder
    from workflows.petition.state import RunState

# v3: updates answer at the decision, projections follow in order, lookups are local.
ANSWER_AT_DECISION = "answer-at-decision"
# Issue 10: statutory 交办/受理 limits (督办单, 逾期未受理); working-day windows; the 交办单 to
# the handler who handles the case.
STATUTORY_INTAKE_LIMITS = "statutory-intake-limits"
WORKING_DAY_WINDOWS = "working-day-windows"
ASSIGNMENT_TO_HANDLER = "assignment-to-handler"
# issue 10: only the petitioner's side closes the loop (rating, withdrawal recorded for them).
PETITIONER_SIDE = "petitioner-side-closes"
# issue 10: a repeat of a matter terminated after re-review (三级终结) is declined, not run.
TERMINATED_NOT_RUN_AGAIN = "terminated-not-run-again"
# issue 9: a round is planned in the workflow from the working days it holds (one lookup less).
PLAN_IN_WORKFLOW = "plan-in-workflow"
# issue 11: the revisit window and a slow upload get their 催办单 (more 催办, seed 004).
AFTERCARE_REMINDERS = "aftercare-reminders"
# issue 11: the notices are sent by activities of this workflow, not a workflow per notice.
DELIVERIES_IN_WORKFLOW = "deliveries-in-workflow"
# issue 11: the petitioner is told of the reply (答复告知, their SMS) with the reply's step.
PETITIONER_TOLD_OF_REPLY = "petitioner-told-of-reply"
# issue 9: the 告知书's leader is found by its writer; an acceptance answers one lookup sooner.
LEADER_FOUND_BY_WRITER = "leader-found-by-writer"
# issue 9: a chain step is written inside the workflow task that takes it (a local activity):
# one workflow task a step instead of two, and a shorter history to replay (the saved
# chain_to_overdue: 179 events in v10, 141 in v11).
CHAIN_WRITTEN_LOCALLY = "chain-written-locally"
# issue 9: so are the other steps nobody waits for (the registration at the start, the timed
# 催办 and 督办 of the intake and aftercare, the upload's outcome).
TIMED_STEPS_WRITTEN_LOCALLY = "timed-steps-written-locally"
# issue 9: after a chain step PetitionDueAt (and the step's record) name the next moment due;
# before, the one just taken, until the next step.
DUE_MOVES_WITH_THE_STEP = "due-moves-with-the-step"
# issue 9: every patch above (and the deliveries' and the chain's), taken at once by a petition
# started since, with this one marker. Each patch had cost every new history two events (its
# marker and the SDK's upsert of TemporalChangeVersion) and the dev server some 0.35 ms of CPU
# (measured: a start calling 17 patches took 18 ms of the server's CPU, one calling none 12). A
# history without this marker decides each patch as before. Frozen: a later patch is not added
# to the bundle, since a history with its marker never took it.
PATCHES_THROUGH_V13 = "patches-through-v13"
# issue 9: a chain step is one local activity that looks up the post's holder and writes the
# step (``record_chain_step`` with a ``ChainLookup``), not a lookup and then the record: one
# marker and one activation less a step, on every replay (the saved chain_to_overdue: 102
# events and 34 activations in v14). Outside the bundle, which is frozen.
CHAIN_STEP_ONE_ACTIVITY = "chain-step-one-activity"
BUNDLED = frozenset(
    {
        ANSWER_AT_DECISION,
        STATUTORY_INTAKE_LIMITS,
        WORKING_DAY_WINDOWS,
        ASSIGNMENT_TO_HANDLER,
        PETITIONER_SIDE,
        TERMINATED_NOT_RUN_AGAIN,
        PLAN_IN_WORKFLOW,
        AFTERCARE_REMINDERS,
        DELIVERIES_IN_WORKFLOW,
        PETITIONER_TOLD_OF_REPLY,
        LEADER_FOUND_BY_WRITER,
        CHAIN_WRITTEN_LOCALLY,
        TIMED_STEPS_WRITTEN_LOCALLY,
        DUE_MOVES_WITH_THE_STEP,
        DELIVERIES_BATCHED,
        DELIVERIES_OUTBOXED,
        SIGNATURES_IN_OUTBOX,
        OVERDUE_TO_COUNTY_LEADERS,
    }
)


# Outside Temporal's sandbox (issue 9). With everything beside it passed through, the sandbox
# checked only this module, yet re-imported it for every petition started or brought back into
# the worker's cache: a full replay of the chain to 逾期 cost 62 ms of CPU in it and 44 ms
# outside, and a cached petition 0.31 MB against 0.23 (bench figures in README). What it
# checked is checked for the whole of workflows/ by workflows/ruff.toml (no clock, randomness,
# files, environment, sockets or threads) and by the replay tests of the saved histories.
@workflow.defn(name="PetitionWorkflow", sandboxed=False)
class PetitionWorkflow:
    @workflow.init
    def __init__(self, start: PetitionStart) -> None:
        run = self._run = RunState.begin(start)
        # Decided once, before any update is handled: a history without the marker replays
        # the old path to its end.
        run.bundled = BUNDLED
        run.all_bundled = workflow.patched(PATCHES_THROUGH_V13)
        run.answers_at_decision = run.patched(ANSWER_AT_DECISION)
        run.statutory_intake = run.patched(STATUTORY_INTAKE_LIMITS)
        run.working_windows = run.patched(WORKING_DAY_WINDOWS)
        run.assignment_to_handler = run.patched(ASSIGNMENT_TO_HANDLER)
        run.on_petitioner_side = run.patched(PETITIONER_SIDE)
        run.plans_in_workflow = run.patched(PLAN_IN_WORKFLOW)
        run.aftercare_reminders = run.patched(AFTERCARE_REMINDERS)
        if start.terminated_repeat_of and run.patched(TERMINATED_NOT_RUN_AGAIN):
            run.declines_repeat = True
            run.state.stage, run.state.closure = Stage.DECLINED, Closure.DECLINED
        run.delivers_notices = run.patched(DELIVERIES_IN_WORKFLOW)
        self._deliveries = Deliveries(run) if run.delivers_notices else None
        run.tells_reply = run.patched(PETITIONER_TOLD_OF_REPLY)
        run.writer_finds_leader = run.patched(LEADER_FOUND_BY_WRITER)
        run.chain_written_locally = run.patched(CHAIN_WRITTEN_LOCALLY)
        run.timed_written_locally = run.patched(TIMED_STEPS_WRITTEN_LOCALLY)
        run.due_moves_with_step = run.patched(DUE_MOVES_WITH_THE_STEP)
        run.chain_step_one_activity = workflow.patched(CHAIN_STEP_ONE_ACTIVITY)
        self._recorder = Recorder(self._run, self._deliveries)
        self._intake = Intake(self._run, self._recorder)
        self._chain = HandlingChain(self._run, self._recorder)
        self._aftercare = Aftercare(self._run, self._recorder)

    # ================================================================== main line
    @workflow.run
    async def run(self, start: PetitionStart) -> PetitionState:
        run = self._run
        # Registered with a unit: written together with the 交办 that follows at once (v3).
        # The first workflow task: nobody waits for it (registration answers once started).
        await self._recorder.record(
            EventKind.REGISTERED,
            person=None,
            at=start.registered_at,
            more=run.state.unit_id is not None or run.declines_repeat,
            locally=run.timed_written_locally,
        )
        if run.declines_repeat:  # 不予受理, the petitioner told why
            note = notices.terminated_repeat(start.terminated_repeat_of or "")
            await self._recorder.record(EventKind.DECLINED, person=None, note=note, more=True)
            await self._recorder.tell_petitioner("decline", note)
        at_start = run.state.stage != Stage.REGISTERED  # assigned at registration
        if not at_start:
            await self._intake.await_assignment()
        # Not withdrawn while still unassigned, nor declined as a repeat.
        if run.state.unit_id is not None and not run.declines_repeat:
            # At least once, even if the unit accepted before the slip was written: the
            # assignment (交办) is a step of the loop in its own right. Written locally when
            # it is the registration's (after the bureau's 交办 update, its caller waits).
            await self._intake.hand_over(locally=at_start and run.timed_written_locally)
            while run.transferred:
                await self._intake.hand_over()
        if run.handling:
            while await self._handling_round():
                pass
        # Let every handler return its answer, and everything be written, before it closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        if run.answers_at_decision:
            await self._recorder.written()
        if self._deliveries is not None:
            await self._deliveries.finished()
        return run.state

    async def _handling_round(self) -> bool:
        """One round of handling (办理, then 复查, then 复核): the chain until the reply, the
        upload and the revisit. True when the petitioner asked for the next round."""
        run, recorder = self._run, self._recorder
        phase = run.state.phase
        run.taken = set()
        recorder.drop_deadlines("assign", "accept", "acceptance_statutory")
        preferred = run.accept.handler_id if run.accept and phase == Phase.HANDLING else None
        first_round = phase == Phase.HANDLING and run.assignment_to_handler
        if first_round:
            preferred = preferred or run.assigned_to  # who has the 交办单 handles it
        handler = await recorder.holder(Role.HANDLER, preferred=preferred)
        run.state.accountable = handler
        accepted_at = run.state.accepted_at or workflow.now()
        note = notices.round_accepted(phase)
        # A handler the unit named, not the one the 交办单 went to, gets it now.
        slip = None
        if first_round and run.assigned_to != handler.person_id:
            slip = (NoticeKind.ASSIGNMENT, f"assignment-{run.assignments}:handler")
        # Written with the 告知书 and the petitioner's slip that follow (v3).
        await recorder.record(
            EventKind.ACCEPTED,
            person=handler,
            at=accepted_at,
            note=note,
            more=True,
            notice=slip,
            ask=notices.HANDLER_ASSIGNED,
        )
        await self._chain.replan()
        await self._intake.tell_acceptance(handler)
        run.rounds_started += 1

        await self._chain.run()
        if run.state.stage == Stage.WITHDRAWN:
            return False
        told = (f"reply-{phase}", notices.reply_told(phase, run.state.reply or ""))
        await recorder.record(
            EventKind.COMPLETED,
            person=run.state.accountable,
            at=run.state.completed_at,
            note=run.state.reply,
            told=told if run.tells_reply else None,
        )
        run.completions += 1
        return await self._aftercare.revisit()

    def _check(self, action: Action, request: ActionRequest) -> None:
        """Every validator: ask the lifecycle, refuse with its reason (the API's 409)."""
        run = self._run
        why = refusal(
            run.state,
            action,
            request,
            workflow.now(),
            max_extension_days=run.policy.max_extension_days,
            review_due=run.review_due,
            review_requested=run.review_requested,
            review_days=run.policy.review_days,
        )
        if why is not None:
            raise ApplicationError(why, type="StageConflict", non_retryable=True)

    def _check_on_behalf(self, request: OnBehalf) -> None:
        """A rating or withdrawal is the petitioner's, recorded by the bureau for them: refused
        here too, since anyone who reaches Temporal can send an update (domain.access)."""
        if not self._run.on_petitioner_side:
            return
        recorder = request.recorded_by
        why = on_behalf_refusal(recorder.role if recorder else None, request.reached_by)
        if why is not None:
            raise ApplicationError(why, type="NotThePetitionersSide", non_retryable=True)

    def _on_behalf(self, request: OnBehalf, note: str) -> tuple[Person | None, str]:
        """Who the timeline names for a rating or withdrawal, and its note: since issue 10 the
        dispatcher who recorded it, and how the petitioner was reached."""
        recorder, reached_by = request.recorded_by, request.reached_by
        if not self._run.on_petitioner_side or recorder is None or reached_by is None:
            return None, note
        return recorder, notices.on_behalf(note, reached_by, recorder)

    async def _end_early(
        self,
        stage: Stage,
        closure: Closure,
        kind: EventKind,
        note: str,
        person: Person | None = None,
    ) -> None:
        """不予受理 or 撤回: the case closes before a reply, and nothing is pending any more."""
        self._run.state.stage = stage
        self._run.state.closure = closure
        self._recorder.refresh_deadlines()
        await self._recorder.record(kind, person=person, note=note)

    # ================================================================== officer actions
    @workflow.update
    async def assign(self, request: AssignRequest) -> PetitionState:
        """交办: the bureau names the responsible unit of a registered petition."""
        run = self._run
        run.hand_to(request.unit_id, workflow.now())
        run.state.stage = Stage.ASSIGNED
        await workflow.wait_condition(lambda: run.assignments > 0)
        return run.state

    @assign.validator
    def _validate_assign(self, request: AssignRequest) -> None:
        self._check(Action.ASSIGN, request)

    @workflow.update
    async def accept(self, request: AcceptRequest) -> PetitionState:
        """受理: the unit takes the petition; week one of the chain starts now."""
        run = self._run
        run.accept = request
        run.state.stage = Stage.HANDLING
        run.state.level = 1
        run.state.accepted_at = workflow.now()
        await workflow.wait_condition(lambda: run.rounds_started > 0)
        return run.state

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        self._check(Action.ACCEPT, request)

    @workflow.update
    async def decline(self, request: DeclineRequest) -> PetitionState:
        """不予受理, with the reason and legal basis the petitioner is told in writing."""
        note = notices.declined(request.reason, request.legal_basis)
        await self._end_early(Stage.DECLINED, Closure.DECLINED, EventKind.DECLINED, note)
        await self._recorder.tell_petitioner("decline", note)
        return self._run.state

    @decline.validator
    def _validate_decline(self, request: DeclineRequest) -> None:
        self._check(Action.DECLINE, request)

    @workflow.update
    async def transfer(self, request: TransferRequest) -> PetitionState:
        """转办: another unit takes over; its clock starts afresh, the timeline keeps both."""
        run = self._run
        old = run.state.unit_id
        run.hand_to(request.unit_id, workflow.now())
        run.transferred = True
        note = notices.transferred(old, request.unit_id, request.reason)
        await self._recorder.record(EventKind.TRANSFERRED, person=None, note=note)
        self._recorder.upsert_search_attributes()
        return run.state

    @transfer.validator
    def _validate_transfer(self, request: TransferRequest) -> None:
        self._check(Action.TRANSFER, request)

    @workflow.update
    async def withdraw(self, request: WithdrawRequest) -> PetitionState:
        """撤回 by the petitioner: the chain ends here."""
        person, note = self._on_behalf(request, notices.withdrawn(request.reason))
        await self._end_early(
            Stage.WITHDRAWN, Closure.WITHDRAWN, EventKind.WITHDRAWN, note, person=person
        )
        return self._run.state

    @withdraw.validator
    def _validate_withdraw(self, request: WithdrawRequest) -> None:
        self._check(Action.WITHDRAW, request)
        self._check_on_behalf(request)

    @workflow.update
    async def request_extension(self, request: ExtensionRequest) -> PetitionState:
        """延期申请 by the handler; the unit head decides."""
        self._run.state.extension = Extension(
            days=request.days, reason=request.reason, requested_at=workflow.now()
        )
        head = await self._recorder.holder(Role.UNIT_HEAD)
        note = notices.extension_requested(request.days, request.reason)
        await self._recorder.record(EventKind.EXTENSION_REQUESTED, person=head, note=note)
        return self._run.state

    @request_extension.validator
    def _validate_request_extension(self, request: ExtensionRequest) -> None:
        self._check(Action.REQUEST_EXTENSION, request)

    @workflow.update
    async def decide_extension(self, decision: ExtensionDecision) -> PetitionState:
        """The unit head approves (the deadline and the chain move) or refuses."""
        run, recorder = self._run, self._recorder
        extension = run.state.extension
        assert extension is not None  # the validator saw it pending
        run.state.extension = extension.model_copy(
            update={
                "approved": decision.approve,
                "approver": decision.approver,
                "decided_at": workflow.now(),
                "note": decision.note,
            }
        )
        if not decision.approve:
            note = notices.extension_refused(decision.approver, decision.note)
            await recorder.record(EventKind.EXTENSION_REFUSED, person=decision.approver, note=note)
            return run.state
        await self._chain.replan()
        note = notices.extension_approved(decision.approver, extension.days)
        await recorder.record(EventKind.EXTENSION_APPROVED, person=decision.approver, note=note)
        await recorder.tell_petitioner(
            f"extension-{run.state.phase}", notices.extension_told(extension.days, extension.reason)
        )
        return run.state

    @decide_extension.validator
    def _validate_decide_extension(self, decision: ExtensionDecision) -> None:
        self._check(Action.DECIDE_EXTENSION, decision)

    @workflow.update
    async def complete(self, request: CompleteRequest) -> PetitionState:
        """办结: the reply is given; every timer and notice of this round stops."""
        run = self._run
        run.state.stage = Stage.REPLIED
        run.state.completed_at = workflow.now()
        run.state.reply = request.reply
        done = run.completions
        await workflow.wait_condition(lambda: run.completions > done)
        return run.state

    @complete.validator
    def _validate_complete(self, request: CompleteRequest) -> None:
        self._check(Action.COMPLETE, request)

    @workflow.update
    async def rate(self, request: RateRequest) -> PetitionState:
        """回访: the petitioner's rating of the reply."""
        self._run.state.rating = request.rating
        self._run.state.rating_comment = request.comment
        rated = notices.rated(request.rating.value, request.comment)
        person, note = self._on_behalf(request, rated)
        await self._recorder.record(EventKind.RATED, person=person, note=note)
        return self._run.state

    @rate.validator
    def _validate_rate(self, request: RateRequest) -> None:
        self._check(Action.RATE, request)
        self._check_on_behalf(request)

    @workflow.update
    async def request_review(self, request: ReviewRequest) -> PetitionState:
        """申请复查/复核: the next level up takes the matter."""
        run = self._run
        nxt = NEXT_PHASE[run.state.phase]
        rounds = run.rounds_started
        run.review_requested = True
        note = notices.review_requested(nxt, request.reason)
        await self._recorder.record(EventKind.REVIEW_REQUESTED, person=None, note=note)
        await workflow.wait_condition(lambda: run.rounds_started > rounds)
        return run.state

    @request_review.validator
    def _validate_request_review(self, request: ReviewRequest) -> None:
        self._check(Action.REQUEST_REVIEW, request)

    @workflow.update
    async def set_owner(self, request: OwnerRequest) -> PetitionState:
        """领导包案: the owner receives a copy of every reminder and supervision notice."""
        self._run.state.owner = request.owner
        note = notices.owner_set(request.owner)
        await self._recorder.record(EventKind.OWNER_SET, person=request.owner, note=note)
        return self._run.state

    @set_owner.validator
    def _validate_set_owner(self, request: OwnerRequest) -> None:
        self._check(Action.SET_OWNER, request)

    @workflow.signal(name=SIGNED_FOR)
    def signed_for(self, key: str) -> None:
        """签收 of the slip ``key`` in the inbox (the API writes it first): its wait ends."""
        if self._deliveries is not None:
            self._deliveries.signed(key)

    @workflow.query
    def state(self) -> PetitionState:
        return self._run.state
