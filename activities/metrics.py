"""The worker's own numbers beside the Temporal SDK's: how late each escalation step's slip
(催办单, 督办单, 逾期通报) reaches the read model after its planned moment, served with the SDK's
metrics by the worker's runtime (core.temporal.metrics_runtime)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from domain.vocabulary import EventKind

# Seconds, as Prometheus names durations. The target is p99 ≤ 1 s, so the buckets are
# fine below a few seconds; beyond, they only tell how far behind a stalled worker is.
ESCALATION_LAG = "petitionflow_escalation_lag_seconds"
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
HISTOGRAM_BUCKETS = {ESCALATION_LAG: LAG_BUCKETS}
# The steps the workflow takes by itself at a planned moment (催办, 督办, 逾期); an officer's
# action has no planned moment to be late for.
ESCALATION_STEPS = frozenset({EventKind.REMINDER, EventKind.SUPERVISION, EventKind.OVERDUE})


def observe_step_lag(kind: EventKind, planned_at: datetime, *, written: bool) -> None:
    """Record the lag of a step whose notice row this activity has just written (``written``):
    a retry that finds the row there already is not counted twice. Outside a worker's activity
    (the rebuild, a test calling the method) there is nothing to record to."""
    if not written or kind not in ESCALATION_STEPS or not activity.in_activity():
        return
    if planned_at.tzinfo is None:
        planned_at = planned_at.replace(tzinfo=UTC)
    # A moment ahead of this machine's clock (clock skew; the time-skipping test server, whose
    # clock runs ahead of the wall) counts as no lag: a histogram takes no negative value.
    lag = max((datetime.now(UTC) - planned_at).total_seconds(), 0.0)
    histogram = activity.metric_meter().create_histogram_float(
        ESCALATION_LAG, "planned moment of an escalation step to its notice row written", "s"
    )
    histogram.record(lag, {"kind": kind.value})
