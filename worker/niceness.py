"""The notices' worker yields the CPU to the chain (issue 11): a process that only sends
(``python -m worker --queues notices``) lowers its own scheduling priority, so that in a burst
of mail the cores go to the petitions' workflow tasks first; a send has a day of retries, an
escalation step a second."""

from __future__ import annotations

import logging
import os

from core.settings import Settings

log = logging.getLogger("petitionflow.worker")


def niceness_for(queues: str, settings: Settings) -> int:
    """How much nicer than its parent the process polling ``queues`` runs: the setting
    (``PETITIONFLOW_NOTICE_WORKER_NICE``, 0 off) for the notices alone, nothing for a process
    that hosts the chain (``all``, ``petitions``)."""
    return settings.notice_worker_nice if queues == "notices" else 0


def lower_priority(queues: str, settings: Settings) -> int:
    """Apply ``niceness_for`` to this process; the niceness it now runs at. Called before the
    worker starts any thread: on Linux a niceness belongs to a thread, and the SDK's threads
    and the event loop's executor inherit it from the one that creates them."""
    increment = niceness_for(queues, settings)
    if not increment:
        return os.nice(0)
    now = os.nice(increment)
    log.info("sends yield the CPU to the chain: niceness %d", now)
    return now
