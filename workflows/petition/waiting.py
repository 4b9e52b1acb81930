"""Waiting in PetitionWorkflow: for a condition, or until a moment, whichever comes first."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def until(condition: Callable[[], bool], due: datetime) -> None:
    """Return when ``condition`` holds or ``due`` has come; a moment reached is no failure."""
    remaining = due - workflow.now()
    if remaining > timedelta(0) and not condition():
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(condition, timeout=remaining)
