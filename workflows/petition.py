"""PetitionWorkflow: owns one petition's clock through the closed loop (闭环):
登记 → 交办 → 受理 (or 不予受理 / 转办) → 告知 → 办理 → 答复 → 上传 → 回访, then 复查 and 复核.

It decides; activities act. Every transition is one ``record_step`` activity (read model,
timeline and notice outbox in one transaction, deduplicated by step key), so a worker killed at
any point resumes where it was and never sends a slip twice. Officers' actions are updates whose
validators refuse what the stage does not allow, so the API can answer 409 and nothing changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        FIND_ROLE_HOLDER,
        PLAN_HANDLING,
        RECORD_STEP,
        UPLOAD_REPLY,
        WRITE_ACCEPTANCE_NOTICE,
        AcceptanceNotice,
        AcceptRequest,
        AssignRequest,
        CompleteRequest,
        Deadline,
        DeclineRequest,
        Extension,
        ExtensionDecision,
        ExtensionRequest,
        Notice,
        OwnerRequest,
        Person,
        PetitionStart,
        PetitionState,
        PlannedSteps,
        PlanRequest,
        RateRequest,
        ReviewRequest,
        RoleLookup,
        StepRecord,
        TimelineEvent,
        TransferRequest,
        UploadRequest,
        WithdrawRequest,
    )
    from domain.notices import notice_text, petitioner_text
    from domain.policy import BEIJING, EscalationPolicy, PlannedStep, StepKind
    from domain.vocabulary import (
        PHASE_LABELS,
        Closure,
        EventKind,
        NoticeKind,
        Phase,
        Rating,
        Role,
        Stage,
    )

# Search attributes (registered when the dev server starts): Temporal's own list and Web UI
# filter petitions by them. Never personal data: these values are not encrypted.
STAGE_ATTR = SearchAttributeKey.for_keyword("PetitionStage")
LEVEL_ATTR = SearchAttributeKey.for_int("PetitionLevel")
UNIT_ATTR = SearchAttributeKey.for_keyword("PetitionUnit")
OVERDUE_ATTR = SearchAttributeKey.for_bool("PetitionOverdue")
DUE_ATTR = SearchAttributeKey.for_datetime("PetitionDueAt")
CATEGORY_ATTR = SearchAttributeKey.for_keyword("PetitionCategory")
SEARCH_ATTRIBUTES = (STAGE_ATTR, LEVEL_ATTR, UNIT_ATTR, OVERDUE_ATTR, DUE_ATTR, CATEGORY_ATTR)

# Events before the unit accepts carry no chain level, even if acceptance races with them.
_BEFORE_CHAIN = (EventKind.REGISTERED, EventKind.ASSIGNED, EventKind.TRANSFERRED)
_OPEN_STAGES = (Stage.REGISTERED, Stage.ASSIGNED, Stage.HANDLING, Stage.OVERDUE)
_NEXT_PHASE = {Phase.HANDLING: Phase.REVIEW, Phase.REVIEW: Phase.RE_REVIEW}
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Activities talk to the database: keep retrying through an outage, but never back off so far
# that a reminder arrives hours late once the database is back.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# The upper-level system may be down for days: retry until it acknowledges, gently.
UPLOAD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["UpstreamRejected"],
)


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="StageConflict", non_retryable=True)


@workflow.defn(name="PetitionWorkflow")
class PetitionWorkflow:
    @workflow.init
    def __init__(self, start: PetitionStart) -> None:
        self._start = start
        self._policy = start.policy
        self._state = PetitionState(
            id=start.petition_id,
            unit_id=start.unit_id,
            track=start.track,
            category=start.category,
            stage=Stage.REGISTERED if start.unit_id is None else Stage.ASSIGNED,
            registered_at=start.registered_at,
            assigned_at=None if start.unit_id is None else start.registered_at,
            policy_version=start.policy.version,
        )
        self._plan: list[PlannedStep] = []
        self._plan_version = 0
        self._taken: set[str] = set()
        self._other_deadlines: dict[str, Deadline] = {}
        self._assignments = 0
        self._transferred = False
        self._accept: AcceptRequest | None = None
        # Counters the update handlers wait on: they answer once the main line has recorded
        # what they asked for, so the caller reads back what it did.
        self._rounds_started = 0
        self._completions = 0
        self._review_requested = False
        self._review_due: datetime | None = None

    # ================================================================== main line
    @workflow.run
    async def run(self, start: PetitionStart) -> PetitionState:
        await self._record(EventKind.REGISTERED, person=None, at=start.registered_at)
        if self._state.stage == Stage.REGISTERED:
            await self._await_or_remind(
                lambda: self._state.stage != Stage.REGISTERED,
                due=start.registered_at + self._policy.duration(self._policy.assign_days),
                deadline_key="assign",
                description="交办期限：登记后由信访局交办责任单位",
                reason=f"登记后{self._policy.assign_days:g}日内交办（“四个一”：一天内交办）",
                role=Role.BUREAU_DISPATCHER,
                reminder_key="reminder-assign",
            )
        if self._state.unit_id is not None:  # not withdrawn while still unassigned
            # At least once, even if the unit accepted before the slip was written: the
            # assignment (交办) is a step of the loop in its own right.
            await self._hand_over()
            while self._transferred:
                await self._hand_over()
        if self._state.stage in (Stage.HANDLING, Stage.OVERDUE):
            while await self._handling_round():
                pass
        return await self._finish()

    async def _hand_over(self) -> None:
        """交办: the unit's first handler gets the slip; the unit head is reminded when the unit
        has not accepted, declined or transferred it within the accept deadline."""
        suffix = f"-{self._assignments}" if self._assignments else ""
        self._transferred = False
        assigned_at = self._state.assigned_at or workflow.now()
        receiver = await self._holder(Role.HANDLER)
        await self._record(
            EventKind.ASSIGNED,
            person=receiver,
            notice=(NoticeKind.ASSIGNMENT, f"assignment{suffix}"),
        )
        self._assignments += 1
        # The statutory limit (信访条例 arts. 21/22) stands beside the county's one-day rule.
        self._add_deadline(
            "acceptance_statutory",
            assigned_at + self._policy.duration(self._policy.acceptance_notice_days),
            "依法决定是否受理并书面告知的期限",
            f"收到信访事项之日起{self._policy.acceptance_notice_days}日内决定是否受理并书面告知"
            "信访人（信访条例第二十一、二十二条）",
        )
        await self._await_or_remind(
            lambda: self._state.stage != Stage.ASSIGNED or self._transferred,
            due=assigned_at + self._policy.duration(self._policy.accept_days),
            deadline_key="accept",
            description="受理期限：交办后责任单位受理",
            reason=f"交办后{self._policy.accept_days:g}日内受理（“四个一”：一天内受理）",
            role=Role.UNIT_HEAD,
            reminder_key=f"reminder-accept{suffix}",
        )

    async def _handling_round(self) -> bool:
        """One round of handling (办理, then 复查, then 复核): the chain until the reply, the
        upload and the revisit. True when the petitioner asked for the next round."""
        phase = self._state.phase
        self._taken = set()
        for intake in ("assign", "accept", "acceptance_statutory"):
            self._other_deadlines.pop(intake, None)
        preferred = self._accept.handler_id if self._accept and phase == Phase.HANDLING else None
        handler = await self._holder(Role.HANDLER, preferred=preferred)
        self._state.accountable = handler
        accepted_at = self._state.accepted_at or workflow.now()
        note = None if phase == Phase.HANDLING else f"{PHASE_LABELS[phase]}受理"
        await self._record(EventKind.ACCEPTED, person=handler, at=accepted_at, note=note)
        await self._replan()
        await self._tell_acceptance(handler)
        self._rounds_started += 1

        await self._run_chain()
        if self._state.stage == Stage.WITHDRAWN:
            return False
        await self._record(
            EventKind.COMPLETED,
            person=self._state.accountable,
            at=self._state.completed_at,
            note=self._state.reply,
        )
        self._completions += 1
        return await self._revisit()

    async def _run_chain(self) -> None:
        """Reminders, escalations and the overdue moment, re-read whenever the plan moves (an
        approved extension) and stopped by the reply or a withdrawal."""
        while self._state.stage in (Stage.HANDLING, Stage.OVERDUE):
            step = next((s for s in self._plan if self._key(s) not in self._taken), None)
            version = self._plan_version
            if step is None:
                await workflow.wait_condition(self._stopped_or_replanned(version))
                continue
            remaining = step.at - workflow.now()
            if remaining > timedelta(0):
                # A timeout is not a failure here: the moment has come, that *is* the step.
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._stopped_or_replanned(version), timeout=remaining
                    )
            if not self._handling:
                return
            if self._plan_version != version:
                continue
            self._taken.add(self._key(step))
            await self._take(step)

    async def _take(self, step: PlannedStep) -> None:
        """Carry out one planned moment, looking up who holds the post *now*."""
        key = self._key(step)
        if step.kind == StepKind.REMINDER:
            holder = await self._holder(self._policy.level(step.level).role)
            if self._handling:
                await self._record(
                    EventKind.REMINDER,
                    person=holder,
                    level=step.level,
                    notice=(NoticeKind.REMINDER, key),
                    note=step.description,
                )
        elif step.kind == StepKind.ESCALATION:
            holder = await self._holder(self._policy.level(step.level).role)
            if self._handling:
                self._state.level = step.level
                self._state.accountable = holder
                await self._record(
                    EventKind.SUPERVISION,
                    person=holder,
                    level=step.level,
                    notice=(NoticeKind.SUPERVISION, key),
                    note=step.description,
                )
        else:
            bureau = await self._holder(Role.BUREAU_DISPATCHER)
            if self._handling:
                self._state.overdue = True
                self._state.stage = Stage.OVERDUE
                await self._record(
                    EventKind.OVERDUE,
                    person=bureau,
                    notice=(NoticeKind.OVERDUE, key),
                    note=step.description,
                )
        self._refresh_deadlines()

    async def _revisit(self) -> bool:
        """回访 within the revisit window; then, for a dissatisfied petitioner, the window to ask
        for the next round. True when a review (复查/复核) starts."""
        replied_at = self._state.completed_at or workflow.now()
        phase = self._state.phase
        revisit_due = replied_at + self._policy.duration(self._policy.revisit_days)
        self._add_deadline(
            "revisit",
            revisit_due,
            "回访期限：答复后回访并请信访人评价",
            f"答复后{self._policy.revisit_days:g}日内回访（闭环管理：必回访）；"
            "逾期未评价按“未联系上”结案",
        )
        self._review_due = None
        if phase in _NEXT_PHASE:
            self._review_due = replied_at + self._policy.duration(self._policy.review_request_days)
            label = PHASE_LABELS[_NEXT_PHASE[phase]]
            self._add_deadline(
                "review_request",
                self._review_due,
                f"申请{label}期限",
                f"信访人对答复意见不服的，可自收到之日起{self._policy.review_request_days:g}日内"
                f"请求{label}（信访条例第三十四、三十五条）",
            )
        # 上传, then 回访. The windows above run from the reply whatever the upload takes, and
        # a rating or a review request given meanwhile is kept.
        await self._upload_reply()
        await self._until(
            lambda: self._state.rating is not None or self._review_requested, revisit_due
        )
        if not self._review_requested:
            closure = {
                None: Closure.NOT_REACHED,
                Rating.SATISFIED: Closure.SATISFIED,
                Rating.BASICALLY_SATISFIED: Closure.BASICALLY_SATISFIED,
                Rating.DISSATISFIED: Closure.DISSATISFIED,
            }[self._state.rating]
            if phase == Phase.RE_REVIEW:
                closure = Closure.TERMINATED  # 三级终结: not accepted again on the same facts
            await self._close(closure)
            if self._review_due is None or closure not in (
                Closure.DISSATISFIED,
                Closure.NOT_REACHED,
            ):
                return False
            await self._until(lambda: self._review_requested, self._review_due)
        self._other_deadlines.pop("revisit", None)
        self._other_deadlines.pop("review_request", None)
        if not self._review_requested:
            self._refresh_deadlines()
            return False
        await self._start_review()
        return True

    async def _start_review(self) -> None:
        """复查/复核 at the next level up, with its own deadline, reminders and escalation."""
        phase = _NEXT_PHASE[self._state.phase]
        self._review_requested = False
        units = self._start.review_units
        unit = units[0] if phase == Phase.REVIEW else units[min(1, len(units) - 1)]
        self._state = self._state.model_copy(
            update={
                "phase": phase,
                "unit_id": unit,
                "stage": Stage.HANDLING,
                "level": 1,
                "overdue": False,
                "accepted_at": workflow.now(),
                "completed_at": None,
                "reply": None,
                "rating": None,
                "rating_comment": None,
                "closure": None,
                "extension": None,
                "uploaded": False,
            }
        )
        self._plan = []
        self._upsert_search_attributes()

    async def _finish(self) -> PetitionState:
        # Let every handler return its answer before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    # ================================================================== officer actions
    @workflow.update
    async def assign(self, request: AssignRequest) -> PetitionState:
        """交办: the bureau names the responsible unit of a registered petition."""
        self._state.unit_id = request.unit_id
        self._state.stage = Stage.ASSIGNED
        self._state.assigned_at = workflow.now()
        self._policy = self._policy_for(request.unit_id)
        self._state.policy_version = self._policy.version
        await workflow.wait_condition(lambda: self._assignments > 0)
        return self._state

    @assign.validator
    def _validate_assign(self, request: AssignRequest) -> None:
        if self._state.stage != Stage.REGISTERED:
            raise _refuse(
                f"petition {self._state.id} is already {self._state.stage}; "
                "transfer it (转办) to change the unit"
            )

    @workflow.update
    async def accept(self, request: AcceptRequest) -> PetitionState:
        """受理: the unit takes the petition; week one of the chain starts now."""
        self._accept = request
        self._state.stage = Stage.HANDLING
        self._state.level = 1
        self._state.accepted_at = workflow.now()
        await workflow.wait_condition(lambda: self._rounds_started > 0)
        return self._state

    @accept.validator
    def _validate_accept(self, request: AcceptRequest) -> None:
        self._require(Stage.ASSIGNED, "accepted")

    @workflow.update
    async def decline(self, request: DeclineRequest) -> PetitionState:
        """不予受理, with the reason and legal basis the petitioner is told in writing."""
        self._state.stage = Stage.DECLINED
        self._state.closure = Closure.DECLINED
        self._refresh_deadlines()
        note = f"不予受理。理由：{request.reason}；依据：{request.legal_basis}"
        await self._record(EventKind.DECLINED, person=None, note=note)
        await self._tell_petitioner("decline", note)
        return self._state

    @decline.validator
    def _validate_decline(self, request: DeclineRequest) -> None:
        self._require(Stage.ASSIGNED, "declined")

    @workflow.update
    async def transfer(self, request: TransferRequest) -> PetitionState:
        """转办: another unit takes over; its clock starts afresh, the timeline keeps both."""
        old = self._state.unit_id
        self._state.unit_id = request.unit_id
        self._state.assigned_at = workflow.now()
        self._policy = self._policy_for(request.unit_id)
        self._state.policy_version = self._policy.version
        self._transferred = True
        await self._record(
            EventKind.TRANSFERRED,
            person=None,
            note=f"由{old}转办至{request.unit_id}。理由：{request.reason}",
        )
        self._upsert_search_attributes()
        return self._state

    @transfer.validator
    def _validate_transfer(self, request: TransferRequest) -> None:
        self._require(Stage.ASSIGNED, "transferred")
        if request.unit_id == self._state.unit_id:
            raise _refuse(f"petition {self._state.id} is already with unit {request.unit_id}")

    @workflow.update
    async def withdraw(self, request: WithdrawRequest) -> PetitionState:
        """撤回 by the petitioner: the chain ends here."""
        self._state.stage = Stage.WITHDRAWN
        self._state.closure = Closure.WITHDRAWN
        self._refresh_deadlines()
        await self._record(EventKind.WITHDRAWN, person=None, note=f"信访人撤回：{request.reason}")
        return self._state

    @withdraw.validator
    def _validate_withdraw(self, request: WithdrawRequest) -> None:
        if self._state.stage not in _OPEN_STAGES:
            raise _refuse(
                f"petition {self._state.id} cannot be withdrawn: it is already {self._state.stage}"
            )

    @workflow.update
    async def request_extension(self, request: ExtensionRequest) -> PetitionState:
        """延期申请 by the handler; the unit head decides."""
        self._state.extension = Extension(
            days=request.days, reason=request.reason, requested_at=workflow.now()
        )
        head = await self._holder(Role.UNIT_HEAD)
        await self._record(
            EventKind.EXTENSION_REQUESTED,
            person=head,
            note=f"申请延期{request.days}日：{request.reason}",
        )
        return self._state

    @request_extension.validator
    def _validate_request_extension(self, request: ExtensionRequest) -> None:
        if self._state.stage != Stage.HANDLING:
            raise _refuse(f"petition {self._state.id} cannot be extended while {self._state.stage}")
        if self._state.extension is not None:
            raise _refuse(
                f"petition {self._state.id} has already asked for an extension (at most once)"
            )
        cap = self._policy.max_extension_days
        if request.days > cap:
            raise _refuse(
                f"an extension is at most {cap} days (信访条例第三十三条), {request.days} asked"
            )

    @workflow.update
    async def decide_extension(self, decision: ExtensionDecision) -> PetitionState:
        """The unit head approves (the deadline and the chain move) or refuses."""
        extension = self._state.extension
        assert extension is not None  # the validator saw it pending
        now = workflow.now()
        self._state.extension = extension.model_copy(
            update={
                "approved": decision.approve,
                "approver": decision.approver,
                "decided_at": now,
                "note": decision.note,
            }
        )
        who = f"{decision.approver.name}（{decision.approver.title}）"
        if not decision.approve:
            await self._record(
                EventKind.EXTENSION_REFUSED,
                person=decision.approver,
                note=f"{who}不批准延期" + (f"：{decision.note}" if decision.note else ""),
            )
            return self._state
        await self._replan()
        await self._record(
            EventKind.EXTENSION_APPROVED,
            person=decision.approver,
            note=f"{who}批准延期{extension.days}日",
        )
        await self._tell_petitioner(
            f"extension-{self._state.phase}",
            f"办理期限延长{extension.days}日，理由：{extension.reason}",
        )
        return self._state

    @decide_extension.validator
    def _validate_decide_extension(self, decision: ExtensionDecision) -> None:
        extension = self._state.extension
        if extension is None or extension.approved is not None:
            raise _refuse(f"petition {self._state.id} has no extension request pending")
        if self._state.stage != Stage.HANDLING:
            raise _refuse(f"petition {self._state.id} is {self._state.stage}")

    @workflow.update
    async def complete(self, request: CompleteRequest) -> PetitionState:
        """办结: the reply is given; every timer and notice of this round stops."""
        self._state.stage = Stage.REPLIED
        self._state.completed_at = workflow.now()
        self._state.reply = request.reply
        done = self._completions
        await workflow.wait_condition(lambda: self._completions > done)
        return self._state

    @complete.validator
    def _validate_complete(self, request: CompleteRequest) -> None:
        if self._state.stage in (Stage.REGISTERED, Stage.ASSIGNED):
            raise _refuse(
                f"petition {self._state.id} cannot be completed before the unit accepts it"
            )
        if not self._handling:
            raise _refuse(f"petition {self._state.id} is already completed ({self._state.stage})")

    @workflow.update
    async def rate(self, request: RateRequest) -> PetitionState:
        """回访: the petitioner's rating of the reply."""
        self._state.rating = request.rating
        self._state.rating_comment = request.comment
        note = request.rating.value + (f"：{request.comment}" if request.comment else "")
        await self._record(EventKind.RATED, person=None, note=note)
        return self._state

    @rate.validator
    def _validate_rate(self, request: RateRequest) -> None:
        if self._state.stage != Stage.REPLIED:
            raise _refuse(
                f"petition {self._state.id} is not waiting for a rating ({self._state.stage})"
            )
        if self._state.rating is not None:
            raise _refuse(f"petition {self._state.id} is already rated")

    @workflow.update
    async def request_review(self, request: ReviewRequest) -> PetitionState:
        """申请复查/复核: the next level up takes the matter."""
        nxt = _NEXT_PHASE[self._state.phase]
        rounds = self._rounds_started
        self._review_requested = True
        await self._record(
            EventKind.REVIEW_REQUESTED,
            person=None,
            note=f"申请{PHASE_LABELS[nxt]}：{request.reason}",
        )
        await workflow.wait_condition(lambda: self._rounds_started > rounds)
        return self._state

    @request_review.validator
    def _validate_request_review(self, request: ReviewRequest) -> None:
        if self._state.stage not in (Stage.REPLIED, Stage.CLOSED) or self._review_due is None:
            raise _refuse(
                f"petition {self._state.id} cannot be reviewed now "
                f"({self._state.stage}, {self._state.phase})"
            )
        if self._state.closure == Closure.TERMINATED or self._state.phase == Phase.RE_REVIEW:
            raise _refuse(
                f"petition {self._state.id} has been re-reviewed: 三级终结, the same "
                "facts are not accepted again"
            )
        if self._state.rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED):
            raise _refuse(f"petition {self._state.id} was rated {self._state.rating}")
        if workflow.now() > self._review_due or self._review_requested:
            raise _refuse(f"the window to ask for review of {self._state.id} has closed")

    @workflow.update
    async def set_owner(self, request: OwnerRequest) -> PetitionState:
        """领导包案: the owner receives a copy of every reminder and supervision notice."""
        self._state.owner = request.owner
        await self._record(
            EventKind.OWNER_SET,
            person=request.owner,
            note=f"{request.owner.name}（{request.owner.title}）包案",
        )
        return self._state

    @set_owner.validator
    def _validate_set_owner(self, request: OwnerRequest) -> None:
        if self._state.stage not in _OPEN_STAGES:
            raise _refuse(f"petition {self._state.id} is {self._state.stage}")

    @workflow.query
    def state(self) -> PetitionState:
        return self._state

    # ================================================================== helpers
    @property
    def _handling(self) -> bool:
        return self._state.stage in (Stage.HANDLING, Stage.OVERDUE)

    def _stopped_or_replanned(self, version: int) -> Callable[[], bool]:
        return lambda: not self._handling or self._plan_version != version

    def _require(self, stage: Stage, verb: str) -> None:
        if self._state.stage != stage:
            raise _refuse(
                f"petition {self._state.id} cannot be {verb}: it is already {self._state.stage}"
            )

    def _key(self, step: PlannedStep) -> str:
        phase = self._state.phase
        return step.key if phase == Phase.HANDLING else f"{phase}:{step.key}"

    def _policy_for(self, unit_id: str) -> EscalationPolicy:
        book = self._start.policy_book
        if book is None:
            return self._policy
        return book.policy_for(unit_id, self._state.category, self._policy.day_seconds)

    async def _until(self, condition: Callable[[], bool], due: datetime) -> None:
        remaining = due - workflow.now()
        if remaining > timedelta(0) and not condition():
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(condition, timeout=remaining)

    async def _await_or_remind(
        self,
        done: Callable[[], bool],
        *,
        due: datetime,
        deadline_key: str,
        description: str,
        reason: str,
        role: Role,
        reminder_key: str,
    ) -> None:
        """Wait for ``done``; at ``due`` remind the holder of ``role`` once, then keep waiting."""
        self._add_deadline(deadline_key, due, description, reason)
        await self._until(done, due)
        if not done():
            holder = await self._holder(role)
            if not done():
                await self._record(
                    EventKind.REMINDER,
                    person=holder,
                    notice=(NoticeKind.REMINDER, reminder_key),
                    note=f"{description}已届满",
                )
            self._refresh_deadlines()
            await workflow.wait_condition(done)
        self._other_deadlines.pop(deadline_key, None)

    async def _close(self, closure: Closure) -> None:
        self._state.stage = Stage.CLOSED
        self._state.closure = closure
        await self._record(EventKind.CLOSED, person=None, note=closure.value)

    async def _replan(self) -> None:
        accepted_at = self._state.accepted_at
        assert accepted_at is not None
        extension = self._state.extension
        approved = extension is not None and extension.approved is True
        note = None
        if approved and extension is not None and extension.approver is not None:
            decided = extension.decided_at or workflow.now()
            note = (
                f"{extension.approver.title}{extension.approver.name}于"
                f"{decided.astimezone(BEIJING):%Y年%m月%d日}"
            )
        planned: PlannedSteps = await workflow.execute_activity(
            PLAN_HANDLING,
            PlanRequest(
                policy=self._policy,
                track=self._state.track,
                phase=self._state.phase,
                accepted_at=accepted_at,
                extension_days=extension.days if approved and extension else 0,
                extension_note=note,
                extended_at=extension.decided_at if approved and extension else None,
            ),
            result_type=PlannedSteps,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self._plan = planned.steps
        self._plan_version += 1
        self._refresh_deadlines()

    async def _tell_acceptance(self, handler: Person) -> None:
        """四告知: in writing, when accepted, the deadline, the leader, handler and phone, and
        the consequences of repeated complaints while it is handled."""
        step = next((s for s in self._plan if s.kind == StepKind.OVERDUE), None)
        assert self._state.accepted_at is not None and step is not None
        leader = self._state.owner or await self._holder(Role.SUPERVISING_LEADER)
        unit_id = self._state.unit_id
        assert unit_id is not None
        await workflow.execute_activity(
            WRITE_ACCEPTANCE_NOTICE,
            AcceptanceNotice(
                petition_id=self._state.id,
                unit_id=unit_id,
                accepted_at=self._state.accepted_at,
                deadline=step.at,
                deadline_reason=step.reason,
                leader=leader,
                handler=handler,
                phase=self._state.phase,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        await self._tell_petitioner(
            f"acceptance-{self._state.phase}",
            f"已{PHASE_LABELS[self._state.phase]}受理，书面告知见告知书",
        )

    async def _tell_petitioner(self, key: str, message: str) -> None:
        petitioner = Person(
            person_id=f"petitioner:{self._state.id}",
            name="信访人",
            title="信访人",
            role=Role.PETITIONER,
            unit_id=self._state.unit_id or "",
        )
        await self._record(
            EventKind.NOTIFIED,
            person=petitioner,
            notice=(NoticeKind.PETITIONER, f"petitioner-{key}"),
            note=message,
        )

    async def _upload_reply(self) -> None:
        """上传: retried until the upper-level system acknowledges; a permanent refusal is
        recorded and the bureau told, never silently dropped."""
        assert self._state.completed_at is not None and self._state.reply is not None
        phase = self._state.phase
        request = UploadRequest(
            petition_id=self._state.id,
            phase=phase,
            replied_at=self._state.completed_at,
            reply=self._state.reply,
        )
        try:
            ack: str = await workflow.execute_activity(
                UPLOAD_REPLY,
                request,
                result_type=str,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=UPLOAD_RETRY,
            )
        except ActivityError as err:
            bureau = await self._holder(Role.BUREAU_DISPATCHER)
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            await self._record(
                EventKind.UPLOADED,
                person=bureau,
                notice=(NoticeKind.REMINDER, f"upload-refused-{phase}"),
                note=f"上级信访信息系统拒收：{cause}",
            )
            return
        self._state.uploaded = True
        await self._record(
            EventKind.UPLOADED, person=None, note=f"已上传上级信访信息系统（回执 {ack}）"
        )

    async def _holder(self, role: Role, preferred: str | None = None) -> Person:
        unit_id = self._state.unit_id or ""
        person: Person = await workflow.execute_activity(
            FIND_ROLE_HOLDER,
            RoleLookup(
                petition_id=self._state.id,
                unit_id=unit_id,
                role=role,
                preferred_person_id=preferred,
            ),
            result_type=Person,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return person

    def _append(
        self,
        kind: EventKind,
        *,
        at: datetime | None = None,
        person: Person | None = None,
        level: int | None = None,
        note: str | None = None,
    ) -> TimelineEvent:
        event = TimelineEvent(
            seq=len(self._state.timeline) + 1,
            at=at or workflow.now(),
            kind=kind,
            level=level if level is not None or kind in _BEFORE_CHAIN else self._state.level,
            role=person.role if person else None,
            person_id=person.person_id if person else None,
            person_name=person.name if person else None,
            note=note,
        )
        self._state.timeline.append(event)
        return event

    async def _record(
        self,
        kind: EventKind,
        *,
        person: Person | None,
        at: datetime | None = None,
        level: int | None = None,
        note: str | None = None,
        notice: tuple[NoticeKind, str] | None = None,
    ) -> None:
        event = self._append(kind, at=at, person=person, level=level, note=note)
        slips: list[Notice] = []
        if notice is not None and person is not None:
            notice_kind, key = notice
            slips.append(
                Notice(
                    key=key,
                    kind=notice_kind,
                    level=event.level,
                    recipient=person,
                    text=self._text(notice_kind, person, event.level, note),
                )
            )
            owner = self._state.owner
            if (
                owner is not None
                and owner.person_id != person.person_id
                and notice_kind in (NoticeKind.REMINDER, NoticeKind.SUPERVISION, NoticeKind.OVERDUE)
            ):
                copy = owner.model_copy(update={"role": Role.CASE_OWNER})
                slips.append(
                    Notice(
                        key=f"{key}:owner",
                        kind=notice_kind,
                        level=event.level,
                        recipient=copy,
                        text=self._text(notice_kind, copy, event.level, note),
                    )
                )
        self._upsert_search_attributes()
        await workflow.execute_activity(
            RECORD_STEP,
            StepRecord(state=self._state, event=event, notices=slips),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _text(self, kind: NoticeKind, person: Person, level: int | None, note: str | None) -> str:
        if kind == NoticeKind.PETITIONER:
            return petitioner_text(self._state.id, note or "")
        return notice_text(kind, self._state.id, level, person, note)

    def _add_deadline(self, key: str, due: datetime, description: str, reason: str) -> None:
        self._other_deadlines[key] = Deadline(
            kind=key, due_at=due, description=description, reason=reason
        )
        self._refresh_deadlines()

    def _refresh_deadlines(self) -> None:
        if self._state.stage in (Stage.DECLINED, Stage.WITHDRAWN):
            # Nothing is pending any more, whatever the main line was about to wait for.
            self._state.deadlines = []
            return
        now = workflow.now()
        open_round = self._handling
        planned = [
            Deadline(
                kind=step.kind.value,
                level=step.level,
                due_at=step.at,
                description=step.description,
                reason=step.reason,
                passed=step.at <= now or self._key(step) in self._taken,
            )
            for step in self._plan
            if step.kind != StepKind.REMINDER and open_round
        ]
        others = [
            d.model_copy(update={"passed": d.due_at <= now}) for d in self._other_deadlines.values()
        ]
        self._state.deadlines = sorted(planned + others, key=lambda d: d.due_at)

    def _upsert_search_attributes(self) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            STAGE_ATTR.value_set(self._state.stage.value),
            LEVEL_ATTR.value_set(self._state.level or 0),
            OVERDUE_ATTR.value_set(self._state.overdue),
            CATEGORY_ATTR.value_set(self._state.category.value),
        ]
        if self._state.unit_id:
            updates.append(UNIT_ATTR.value_set(self._state.unit_id))
        due = next((d.due_at for d in self._state.deadlines if not d.passed), None)
        updates.append(DUE_ATTR.value_set(due) if due else DUE_ATTR.value_unset())
        workflow.upsert_search_attributes(updates)
