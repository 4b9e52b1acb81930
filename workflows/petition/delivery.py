"""送达 and 签收 of a petition's notices by its own workflow (issue 11, the patch
``deliveries-in-workflow``): each send is an activity of this workflow, scheduled in the
background once ``record_step`` answers with the step's routes, so neither the main line nor an
update waits for a send. The recipient's quiet hours are a timer; a 督办单 waits for 签收 (the
``signed_for`` signal the API sends after writing it) and, not signed in time, brings a 催办.

Before the patch each notice had a workflow of its own (workflows/notice_delivery.py, still
registered for the deliveries under way); the sends and their retries are the same here. What
it cost (README, "Benchmarks"): a workflow start, its tasks and a look-up per notice, where
this costs a send's activity and the timers it needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from pydantic import TypeAdapter
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.notice_delivery import (
        REMIND_UNSIGNED,
        DeliveryTarget,
        NoticeRoute,
        NoticeToDeliver,
        StepWritten,
    )

    from workflows.notice_delivery import STORE_RETRY, STORE_TIMEOUT, send_notice

_ROUTES = TypeAdapter(list[NoticeRoute])


class Deliveries:
    """The petition's deliveries under way; holds no state a replay would not rebuild."""

    def __init__(self) -> None:
        # Slips signed for (签收), by key: the API's signal, the database being the truth.
        self._signed: set[str] = set()
        # The case is closing: a 签收 still awaited is awaited no longer.
        self._closing = False
        self._under_way: list[asyncio.Task[None]] = []

    def signed(self, key: str) -> None:
        self._signed.add(key)

    def after(self, writing: workflow.ActivityHandle[StepWritten]) -> None:
        """Deliver a step's notices once ``record_step`` has written them and said where they
        go. In the background: the code that decided goes on at once."""
        self._start(self._written(writing))

    def _start(self, delivery: Coroutine[Any, Any, None]) -> None:
        self._under_way = [task for task in self._under_way if not task.done()]
        self._under_way.append(asyncio.create_task(delivery))

    async def finished(self) -> None:
        """Before the workflow closes: every send done (a channel down is retried up to a day,
        as before); a 督办单 not signed for brings no 催办 once the case is closed."""
        self._closing = True
        while under_way := [task for task in self._under_way if not task.done()]:
            await asyncio.gather(*under_way)

    async def _written(self, writing: workflow.ActivityHandle[StepWritten]) -> None:
        step = await writing
        await self._deliver_all(step.queue, step.routes)

    async def _deliver_all(self, queue: str, routes: list[NoticeRoute]) -> None:
        await asyncio.gather(*(self._deliver(queue, route) for route in routes))

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
            reminders = await workflow.execute_activity(
                REMIND_UNSIGNED,
                notice,
                result_type=list[NoticeRoute],
                task_queue=queue,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            await self._deliver_all(queue, reminders)
