"""NoticeDelivery: one notice of the outbox to its person (送达), on every channel they have,
and for a 督办单 the wait for 签收 (issue 11).

Started by the petition's ``record_step`` once the notice is written, one per notice (its id is
the petition number and the slip's key), so the petition's own workflow is unchanged. Each
channel is one activity retried with backoff; a permanent failure stops it and tells the
bureau. A 督办单 not signed for within the policy's time brings a 催办 to the same person and a
copy to the bureau: the chain never relies on a message being read."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.notice_delivery import (
        DELIVER_NOTICE,
        DELIVERY_TARGETS,
        NOTICE_DELIVERY_WORKFLOW,
        PERMANENT_FAILURE,
        REMIND_UNSIGNED,
        REPORT_UNDELIVERED,
        SIGNED_FOR,
        DeliveryAttempt,
        DeliveryTarget,
        NoticeToDeliver,
        Undelivered,
        reports_failure,
    )

# The store's own steps (look-ups, writing a slip): retried until the database answers.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# A send: backoff from seconds to ten minutes; a permanent failure is not retried.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[PERMANENT_FAILURE],
)
SEND_TIMEOUT = timedelta(minutes=1)
# The send beats every 2 s (activities/delivery.py): a worker gone is noticed within 30 s. Not
# sooner: the SDK passes heartbeats on at most every 80 % of this timeout, and on a loaded
# machine a live send timed out at 10 s was retried on the other worker while still sending,
# which mails the slip twice (tests/test_delivery_crash.py saw three).
HEARTBEAT_TIMEOUT = timedelta(seconds=30)
# A channel down for a whole day has failed that slip: the bureau is told and calls instead.
GIVE_UP_AFTER = timedelta(days=1)
STORE_TIMEOUT = timedelta(seconds=30)
# How a send runs: one notice on one channel, or (the patch ``deliveries-batched``) a step's sends.
SEND_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": SEND_TIMEOUT,
    "heartbeat_timeout": HEARTBEAT_TIMEOUT,
    "schedule_to_close_timeout": GIVE_UP_AFTER,
    "retry_policy": SEND_RETRY,
}


@workflow.defn(name=NOTICE_DELIVERY_WORKFLOW)
class NoticeDelivery:
    def __init__(self) -> None:
        self._signed = False

    @workflow.signal(name=SIGNED_FOR)
    def signed_for(self) -> None:
        """签收 in the inbox (the API writes it first; this only ends the wait early)."""
        self._signed = True

    @workflow.run
    async def run(self, notice: NoticeToDeliver) -> None:
        # The wait for 签收 runs from the moment the slip is written, while it is being sent.
        await asyncio.gather(self._deliver(notice), self._await_signature(notice))

    async def _deliver(self, notice: NoticeToDeliver) -> None:
        targets: list[DeliveryTarget] = await workflow.execute_activity(
            DELIVERY_TARGETS,
            notice,
            result_type=list[DeliveryTarget],
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        await asyncio.gather(*(self._send(notice, target) for target in targets))

    async def _send(self, notice: NoticeToDeliver, target: DeliveryTarget) -> None:
        await send_notice(notice, target)

    async def _await_signature(self, notice: NoticeToDeliver) -> None:
        if notice.sign_within is None:
            return
        try:
            await workflow.wait_condition(lambda: self._signed, timeout=notice.sign_within)
        except TimeoutError:
            # The activity looks at the notice itself: signed meanwhile (a signal lost while
            # the API could not reach Temporal), it writes nothing.
            await workflow.execute_activity(
                REMIND_UNSIGNED,
                notice,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )


async def send_notice(
    notice: NoticeToDeliver, target: DeliveryTarget, task_queue: str | None = None
) -> Any:
    """One notice on one channel, after the recipient's quiet hours; on a failure for good, the
    bureau told (送达失败). Returns what ``report_undelivered`` answered (the routes of the slip
    it wrote, for a petition's workflow to send; None from before it answered), else None.
    Shared with the petition's workflow (``task_queue``: where its sends run)."""
    if target.not_before is not None and target.not_before > workflow.now():
        # The recipient's quiet hours (a reminder waits for a working morning).
        await workflow.sleep(target.not_before - workflow.now())
    try:
        await workflow.execute_activity(
            DELIVER_NOTICE,
            DeliveryAttempt(notice=notice, target=target),
            task_queue=task_queue,
            **SEND_OPTIONS,
        )
    except ActivityError as exc:
        if not reports_failure(notice.kind):
            return None
        cause = exc.cause if exc.cause is not None else exc
        # Untyped: a history from before this activity answered holds None.
        return await workflow.execute_activity(
            REPORT_UNDELIVERED,
            Undelivered(notice=notice, channel=target.channel, error=str(cause)),
            task_queue=task_queue,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
    return None
