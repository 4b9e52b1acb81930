"""PetitionWorkflow's own code on a virtual clock, without Temporal: the simulator's fast mode
(worker/simulate_fast.py, issue 13 item 7). Each workflow object is the real class, its updates
the real handlers behind their real validators; what Temporal would do around them is done here
the way Temporal's own workflow event loop does it (temporalio.worker._workflow_instance):
ready callbacks run until none is left, then the waiting conditions of the workflows that ran
are checked, and only then does the clock move on, to the earliest timer. Activities are answered
by ``Effects`` (the fast mode records each step and answers the lookups); nothing is durable, no
history is kept, so this plays a year in seconds where the time-skipping server takes minutes.

Temporal's runtime hook (``temporalio.workflow._Runtime``) is private API: if an SDK upgrade
changes it, tests/worker/test_simulate_equivalence.py fails rather than the data going wrong."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.workflow import _Runtime

T = TypeVar("T")
# Which petition's workflow a callback belongs to: set on the tasks of its run, updates and
# life, so its conditions are checked after it ran (Temporal's activation of one workflow).
PETITION: ContextVar[str] = ContextVar("simulated_petition", default="")


class Effects(Protocol):
    """What the activities do in the fast mode: called with the activity's name and argument,
    answering with its result (at once: the virtual clock does not move while they run)."""

    def __call__(self, name: str, arg: Any) -> Any: ...


class VirtualLoop(asyncio.AbstractEventLoop):
    """A discrete-event asyncio loop: its time moves only from timer to timer."""

    def __init__(self, start: datetime, effects: Effects) -> None:
        self._time = start.timestamp()
        self._ready: deque[asyncio.Handle] = deque()
        # (when, rank, order, timer): at the same moment the workflows' timers (rank 0) fire
        # before the people's acts (rank 1), as on the server, whose clock reaches a moment
        # (firing what is due) before the simulator's update for that moment is sent.
        self._timers: list[tuple[float, int, int, asyncio.TimerHandle]] = []
        self._order = itertools.count()
        self.conditions: dict[str, list[tuple[Callable[[], bool], asyncio.Future[Any]]]] = (
            defaultdict(list)
        )
        self.handling: dict[str, int] = defaultdict(int)  # updates running, by petition
        self._errors: list[BaseException] = []
        _Runtime.set_on_loop(self, _runtime(self, effects))

    # ------------------------------------------------------------------ the clock
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._time, UTC)

    def time(self) -> float:
        return self._time

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to its end, moving the clock whenever nothing is ready."""
        asyncio.events._set_running_loop(self)
        try:
            task = self.create_task(main)
            while True:
                self._drain()
                if self._errors:
                    raise self._errors[0]
                if task.done():
                    result: T = task.result()
                    return result
                if not self._fire_next_timer():
                    raise RuntimeError("the simulation waits for nothing that will come")
        finally:
            asyncio.events._set_running_loop(None)

    def _drain(self) -> None:
        while self._ready:
            ran: set[str] = set()
            while self._ready:
                handle = self._ready.popleft()
                ran.add(handle._context.get(PETITION))  # type: ignore[attr-defined]
                handle._run()
            for petition in ran:  # its conditions, as at the end of its activation
                waiting = self.conditions.get(petition)
                if waiting:
                    self.conditions[petition] = [
                        (fn, fut) for fn, fut in waiting if not fut.done() and not _met(fn, fut)
                    ]

    def _fire_next_timer(self) -> bool:
        while self._timers:
            when, _, _, timer = heapq.heappop(self._timers)
            if timer.cancelled():
                continue
            self._time = max(self._time, when)
            self._ready.append(timer)
            return True
        return False

    # ------------------------------------------------------------------ asyncio's loop
    def call_soon(  # type: ignore[override]
        self, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        return self.call_at(self._time + delay, callback, *args, context=context)

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        return self._timer(when, 0, callback, args, context)

    def _timer(
        self, when: float, rank: int, callback: Any, args: Any, context: Any
    ) -> asyncio.TimerHandle:
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        heapq.heappush(self._timers, (when, rank, next(self._order), timer))
        return timer

    async def after_timers_at(self, moment: datetime) -> None:
        """Wait until ``moment``, and until the workflows' timers due then have fired."""
        when = moment.timestamp()
        if when <= self._time:
            return
        woken = self.create_future()
        self._timer(when, 1, _wake, (woken,), None)
        await woken

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass  # skipped when it comes up

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro: Any, *, name: Any = None, context: Any = None) -> Any:
        return asyncio.Task(coro, loop=self, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return False

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self._errors.append(error or RuntimeError(context.get("message")))


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _met(fn: Callable[[], bool], fut: asyncio.Future[Any]) -> bool:
    if fn():
        fut.set_result(True)
        return True
    return False


async def _answered(value: Any) -> Any:
    return value


def _runtime(loop: VirtualLoop, effects: Effects) -> _Runtime:
    """Temporal's runtime hook for the workflow API the petition workflow calls; every call
    outside it fails loudly (an abstract method left unimplemented)."""

    class Simulated(_Runtime):
        def workflow_time_ns(self) -> int:
            return round(loop.time() * 1e9)

        def workflow_patch(self, id: str, *, deprecated: bool, event_groups: Any = None) -> bool:
            return True  # a new workflow takes every patched path, as on a fresh server

        def workflow_upsert_search_attributes(self, attributes: Any, **_: Any) -> None:
            pass  # Temporal's list filters: no server here

        def workflow_all_handlers_finished(self) -> bool:
            return loop.handling[PETITION.get()] == 0

        async def workflow_wait_condition(
            self,
            fn: Callable[[], bool],
            *,
            timeout: float | None = None,  # noqa: ASYNC109 (Temporal's signature)
            **_: Any,
        ) -> None:
            future = loop.create_future()
            loop.conditions[PETITION.get()].append((fn, future))
            await (future if timeout is None else asyncio.wait_for(future, timeout))

        def workflow_start_activity(self, activity: Any, *args: Any, **_: Any) -> Any:
            return workflow.ActivityHandle(_answered(effects(activity, *args)), loop=loop)

        workflow_start_local_activity = workflow_start_activity

    Simulated.__abstractmethods__ = frozenset()  # the rest raise when called (their bodies: ...)
    for name in _Runtime.__abstractmethods__:
        if name not in Simulated.__dict__:
            setattr(Simulated, name, _unsupported(name))
    return Simulated()  # type: ignore[abstract]


def _unsupported(name: str) -> Callable[..., Any]:
    def refuse(*_: Any, **__: Any) -> Any:
        raise NotImplementedError(f"the simulator's fast mode has no {name}")

    return refuse


async def sleep_until(moment: datetime) -> None:
    """A person waits on the virtual clock until ``moment`` (at once if it has come)."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualLoop)
    await loop.after_timers_at(moment)
