"""Waiting for a condition instead of for a moment: activities and projections run in real
time even when the workflow clock skips, and a loaded machine is slow."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

POLL_INTERVAL = 0.05  # seconds between checks of a condition; never a test's measure of time

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    timeout: float = 30,
    interval: float = POLL_INTERVAL,
) -> T:
    """Poll ``probe`` every ``interval`` seconds until ``check`` holds; fail with the last
    value seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def at_once(value: T) -> T:
    """``value`` as a probe for ``eventually`` (a counter, a mailbox: read when polled)."""
    return value
