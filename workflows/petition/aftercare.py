"""Aftercare of PetitionWorkflow, once the reply is given: the upload to the upper-level
system (上传), the revisit (回访) and its rating, the case's closure (结案), and the next round
(复查, then 复核) when a petitioner not satisfied asks for it in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkdayCalendar
    from domain.contracts import UPLOAD_REPLY, Deadline, UploadRequest
    from domain.lifecycle import (
        NEXT_PHASE,
        closure_after_revisit,
        review_still_open,
        reviewing_unit,
    )
    from domain.notices import (
        REVISIT_DUE_SOON,
        UPLOAD_DUE_SOON,
        UPLOAD_EXPIRED,
        due_soon,
        lapsed,
        reminder_at,
        review_request_deadline,
        revisit_deadline,
        upload_deadline,
        upload_refused,
        uploaded,
    )
    from domain.vocabulary import Closure, EventKind, NoticeKind, Role, Stage

from workflows.petition.recorder import Recorder
from workflows.petition.state import RunState
from workflows.petition.waiting import until

# The upper-level system may be down for days: retry until it acknowledges, gently.
UPLOAD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["UpstreamRejected"],
)


class Aftercare:
    def __init__(self, run: RunState, recorder: Recorder) -> None:
        self._run = run
        self._recorder = recorder

    async def revisit(self) -> bool:
        """回访 within the revisit window; then, for a dissatisfied petitioner, the window to ask
        for the next round. True when a review (复查/复核) starts."""
        run, recorder = self._run, self._recorder
        replied_at = run.state.completed_at or workflow.now()
        phase = run.state.phase
        calendar = await recorder.calendar()  # the unit's working days, if it counts them
        revisit = revisit_deadline(run.policy, replied_at, calendar)
        recorder.add_deadline(revisit)
        run.review_due = None
        if phase in NEXT_PHASE:
            window = review_request_deadline(run.policy, replied_at, NEXT_PHASE[phase], calendar)
            run.review_due = window.due_at
            recorder.add_deadline(window)

        # 上传, then 回访. The windows above run from the reply whatever the upload takes, and
        # a rating or a review request given meanwhile is kept.
        def answered() -> bool:
            return run.state.rating is not None or run.review_requested

        reminding = None
        if self._reminds:  # 催办 before the revisit window closes
            reminding = asyncio.create_task(
                self._remind(
                    answered,
                    revisit,
                    replied_at,
                    key=f"reminder-revisit-{phase}",
                    ask=REVISIT_DUE_SOON,
                )
            )
            await self._watched_upload(replied_at, calendar)
        else:
            await self.upload_reply()
        await until(answered, revisit.due_at)
        if reminding is not None:
            await reminding  # done by now (it fires before the window closes): its step first
        if not run.review_requested:
            closure = closure_after_revisit(run.state.rating, phase)
            await self._close(closure)
            if run.review_due is None or not review_still_open(closure):
                return False
            await until(lambda: run.review_requested, run.review_due)
        recorder.drop_deadlines("revisit", "review_request")
        if not run.review_requested:
            recorder.refresh_deadlines()
            return False
        self._start_review()
        return True

    async def _watched_upload(self, replied_at: datetime, calendar: WorkdayCalendar | None) -> None:
        """上传 with its own deadline: a 催办单 to the bureau before it passes with the upper-level
        system still not acknowledging (即将到期), and another once it has (已超期)."""
        run, recorder = self._run, self._recorder
        phase = run.state.phase
        deadline = upload_deadline(run.policy, replied_at, calendar)
        recorder.add_deadline(deadline)
        uploading = asyncio.create_task(self.upload_reply())
        done = uploading.done
        key = f"reminder-upload-{phase}"
        await self._remind(done, deadline, replied_at, key=key, ask=UPLOAD_DUE_SOON)
        await until(done, deadline.due_at)
        if not done():
            await self._remind(done, deadline, None, key=f"{key}-lapsed", ask=UPLOAD_EXPIRED)
        await uploading

    async def _remind(
        self,
        done: Callable[[], bool],
        deadline: Deadline,
        since: datetime | None,
        *,
        key: str,
        ask: str,
    ) -> None:
        """A 催办单 to the bureau's dispatcher (who follows up what they handed out: 上传, 回访)
        unless ``done``: before ``deadline`` when the window opened ``since``, else at once."""
        run, recorder = self._run, self._recorder
        planned_at = None  # at once: no moment planned to be late for
        if since is not None:
            planned_at = reminder_at(run.policy, deadline, since)
            await until(done, planned_at)
        if done():
            return
        bureau = await recorder.holder(Role.BUREAU_DISPATCHER)
        if done():
            return
        await recorder.record(
            EventKind.REMINDER,
            person=bureau,
            notice=(NoticeKind.REMINDER, key),
            note=due_soon(deadline) if since is not None else lapsed(deadline),
            ask=ask,
            planned_at=planned_at,
            # The timer's (nobody waits); at once, it follows an officer's update.
            locally=since is not None and run.timed_written_locally,
        )

    async def upload_reply(self) -> None:
        """上传: retried until the upper-level system acknowledges; a permanent refusal is
        recorded and the bureau told, never silently dropped."""
        run, recorder = self._run, self._recorder
        state = run.state
        assert state.completed_at is not None and state.reply is not None
        phase = state.phase
        request = UploadRequest(
            petition_id=state.id,
            phase=phase,
            replied_at=state.completed_at,
            reply=state.reply,
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
            self._uploaded()
            bureau = await recorder.holder(Role.BUREAU_DISPATCHER)
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            await recorder.record(
                EventKind.UPLOADED,
                person=bureau,
                notice=(NoticeKind.UPLOAD_REFUSED, f"upload-refused-{phase}"),
                note=upload_refused(cause),
                locally=run.timed_written_locally,  # after the upload: nobody waits
            )
            return
        run.state.uploaded = True
        self._uploaded()
        await recorder.record(
            EventKind.UPLOADED,
            person=None,
            note=uploaded(ack),
            locally=run.timed_written_locally,  # after the upload: nobody waits
        )

    @property
    def _reminds(self) -> bool:
        """Aftercare 催办 (the patch ``AFTERCARE_REMINDERS``), where the policy turns it on."""
        return self._run.aftercare_reminders and self._run.policy.aftercare_reminders

    def _uploaded(self) -> None:
        """The upload's deadline is met (or moot, refused): no longer pending."""
        if self._reminds:
            self._recorder.drop_deadlines("upload")
            self._recorder.refresh_deadlines()

    async def _close(self, closure: Closure) -> None:
        state = self._run.state
        state.stage = Stage.CLOSED
        state.closure = closure
        await self._recorder.record(EventKind.CLOSED, person=None, note=closure.value)

    def _start_review(self) -> None:
        """复查/复核 at the next level up, with its own deadline, reminders and escalation."""
        run = self._run
        phase = NEXT_PHASE[run.state.phase]
        run.review_requested = False
        run.state = run.state.model_copy(
            update={
                "phase": phase,
                "unit_id": reviewing_unit(run.start.review_units, phase),
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
        run.plan = []
        self._recorder.upsert_search_attributes()
