"""送达 and 签收 of a petition's notices by its own workflow (issue 11, the patch
``deliveries-in-workflow``): each send is an activity of this workflow, scheduled in the
background once ``record_step`` answers with the step's routes, so neither the main line nor an
update waits for a send. The recipient's quiet hours are a timer; a 督办单 waits for 签收 (the
``signed_for`` signal the API sends after writing it) and, not signed in time, brings a 催办.

Before the patch each notice had a workflow of its own (workflows/notice_delivery.py, still
registered for the deliveries under way); the sends and their retries are the same here. What
it cost (README, "Benchmarks"): a workflow start, its tasks and a look-up per notice, where
this costs a send's activity and the timers it needs. Since the patch ``deliveries-batched`` a
step's sends released at the same moment are one activity (``deliver_notices``): one activity and
one workflow task per step, not per notice and channel (README, "Benchmarks"). Since the patch
``deliveries-outboxed`` there is no send here at all: ``record_step`` writes the step's notices
marked for the notices' process, which routes and sends them (activities/outbox.py); what stays
is the 签收 wait and its 催办, whose slips are written with their delivery rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.notice_delivery import (
        DELIVER_NOTICES,
        REMIND_UNSIGNED,
        REMIND_UNSIGNED_AND_SEND,
        REPORT_UNDELIVERED,
        DeliveryAttempt,
        DeliveryBatch,
        DeliveryTarget,
        NoticeRoute,
        NoticeToDeliver,
        SendsLeft,
        StepWritten,
        Undelivered,
        reports_failure,
    )

    from workflows.notice_delivery import (
        SEND_OPTIONS,
        SEND_TIMEOUT,
        STORE_RETRY,
        STORE_TIMEOUT,
        send_notice,
    )
    from workflows.petition.state import RunState

_ROUTES = TypeAdapter(list[NoticeRoute])
DELIVERIES_BATCHED = "deliveries-batched"
DELIVERIES_OUTBOXED = "deliveries-outboxed"
SIGNATURES_IN_OUTBOX = "signatures-watched-in-outbox"


class Deliveries:
    """The petition's deliveries under way; holds no state a replay would not rebuild."""

    def __init__(self, run: RunState) -> None:
        # Decided with the other patches, in the workflow's __init__ (this is built there).
        run.batches_sends = run.patched(DELIVERIES_BATCHED)
        self._batched = run.batches_sends
        # Since ``deliveries-outboxed`` the sends are rows written with the step and drained by
        # the notices' process: no send is an activity (nor a workflow task) of this workflow.
        run.outboxes_sends = self._batched and run.patched(DELIVERIES_OUTBOXED)
        self._outboxed = run.outboxes_sends
        # Since ``signatures-watched-in-outbox`` the 签收 of a 督办单 is awaited by the notices'
        # process too (the notice's sign-by moment): no timer, no 催办 activity here.
        run.outbox_watches_signing = self._outboxed and run.patched(SIGNATURES_IN_OUTBOX)
        self._watched = run.outbox_watches_signing
        # Slips signed for (签收), by key: the API's signal, the database being the truth.
        self._signed: set[str] = set()
        # The case is closing: a 签收 still awaited is awaited no longer.
        self._closing = False
        self._under_way: list[asyncio.Task[None]] = []

    def signed(self, key: str) -> None:
        self._signed.add(key)

    def after(self, writing: Awaitable[StepWritten | None]) -> None:
        """Deliver a step's notices once ``record_step`` has written them and said where they
        go. In the background: the code that decided goes on at once."""
        self._start(self._written(writing))

    def _start(self, delivery: Coroutine[Any, Any, None]) -> None:
        self._under_way = [task for task in self._under_way if not task.done()]
        self._under_way.append(asyncio.create_task(delivery))

    async def finished(self) -> None:
        """Before the workflow closes: every send done (a channel down is retried up to a day,
        as before; outboxed, there is none to wait for); a 督办单 not signed for brings no 催办
        once the case is closed."""
        self._closing = True
        while under_way := [task for task in self._under_way if not task.done()]:
            await asyncio.gather(*under_way)

    async def _written(self, writing: Awaitable[StepWritten | None]) -> None:
        step = await writing
        if step is not None:
            await self._deliver_all(step.queue, step.routes)

    async def _deliver_all(self, queue: str, routes: list[NoticeRoute]) -> None:
        if not self._batched:
            await asyncio.gather(*(self._deliver(queue, route) for route in routes))
            return
        if self._watched:  # sends and 签收 alike are the notices' process's
            return
        if self._outboxed:  # the sends are in the outbox: only the 签收 waits are ours
            await asyncio.gather(*(self._await_signature(queue, r.notice) for r in routes))
            return
        # The wait for 签收 runs from the moment the slip is written, while it is being sent.
        await asyncio.gather(
            *(self._send_batch(queue, at, sends) for at, sends in _by_release(routes).items()),
            *(self._await_signature(queue, route.notice) for route in routes),
        )

    async def _send_batch(
        self, queue: str, release: datetime | None, sends: list[DeliveryAttempt]
    ) -> None:
        """The sends released at one moment (at once, or when quiet hours end), one activity."""
        if release is not None and release > workflow.now():
            await workflow.sleep(release - workflow.now())
        try:
            failed = await workflow.execute_activity(
                DELIVER_NOTICES,
                DeliveryBatch(attempts=sends),
                result_type=list[Undelivered],
                task_queue=queue,
                **SEND_OPTIONS,
            )
        except ActivityError as exc:  # a day of failures: each send not gone is reported
            cause = exc.cause if exc.cause is not None else exc
            failed = [
                Undelivered(notice=s.notice, channel=s.target.channel, error=str(cause))
                for s in sends
            ]
        await self._report_all(queue, failed)

    async def _report_all(self, queue: str, failed: list[Undelivered]) -> None:
        reported = [f for f in failed if reports_failure(f.notice.kind)]
        await asyncio.gather(*(self._report(queue, failure) for failure in reported))

    async def _report(self, queue: str, failure: Undelivered) -> None:
        """送达失败 to the bureau, and its own sends (report_undelivered writes nothing for a
        send that went out)."""
        await self._written_then_sent(queue, REPORT_UNDELIVERED, failure)

    async def _written_then_sent(self, queue: str, writes: str, arg: Any) -> None:
        """An activity that writes slips of the delivery's own (送达失败, 催办) and answers with
        their routes; then their sends."""
        routes = await workflow.execute_activity(
            writes,
            arg,
            result_type=list[NoticeRoute],
            task_queue=queue,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        await self._deliver_all(queue, routes)

    async def _deliver(self, queue: str, route: NoticeRoute) -> None:
        # The wait for 签收 runs from the moment the slip is written, while it is being sent.
        await asyncio.gather(
            *(self._send(queue, route.notice, target) for target in route.targets),
            self._await_signature(queue, route.notice),
        )

    async def _send(self, queue: str, notice: NoticeToDeliver, target: DeliveryTarget) -> None:
        told = await send_notice(notice, target, queue)
        if told:  # the 送达失败 slip the bureau gets, sent in turn
            await self._deliver_all(queue, _ROUTES.validate_python(told))

    async def _await_signature(self, queue: str, notice: NoticeToDeliver) -> None:
        if notice.sign_within is None:
            return
        key = notice.key
        try:
            await workflow.wait_condition(
                lambda: key in self._signed or self._closing, timeout=notice.sign_within
            )
        except TimeoutError:
            # The activity looks at the notice itself: signed meanwhile (a signal lost while
            # the API could not reach Temporal), it writes nothing.
            if self._batched:  # and sends its slips itself: no activity of their own
                left = await workflow.execute_activity(
                    REMIND_UNSIGNED_AND_SEND,
                    notice,
                    result_type=SendsLeft,
                    task_queue=queue,
                    start_to_close_timeout=SEND_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
                await asyncio.gather(
                    self._deliver_all(queue, left.routes), self._report_all(queue, left.failed)
                )
                return
            await self._written_then_sent(queue, REMIND_UNSIGNED, notice)


def _by_release(routes: list[NoticeRoute]) -> dict[datetime | None, list[DeliveryAttempt]]:
    """A step's sends by the moment they may go (None: at once), in the routes' order."""
    found: dict[datetime | None, list[DeliveryAttempt]] = {}
    for route in routes:
        for target in route.targets:
            attempt = DeliveryAttempt(notice=route.notice, target=target)
            found.setdefault(target.not_before, []).append(attempt)
    return found
