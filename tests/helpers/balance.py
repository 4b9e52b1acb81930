"""The order the suite's tests are handed to pytest-xdist's two workers, so that neither starts a
five-minute test when the other is nearly done, and no two fleets of processes run at once.

xdist's ``worksteal`` gives each worker one half of the collected list, in order, and an idle
worker then steals from the tail of the other's queue. Collected in file order, the slowest tests
(the stack, schemathesis, the scale-out fleet) sat together near the end of the second half: the
run ended with one worker idle while the other carried them one after another. Here the tests
that start processes of their own (a stack, a fleet of workers and APIs) open the first half, one
after another: run side by side they starve each other on two cores (the scale-out test's chains
stalled while schemathesis ran beside it). The slow in-process tests open the second half; the
rest follow in their collected order and are what gets stolen. The order changes nothing a test
proves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

# Seconds each test took (call, setup and teardown) in a whole run on the 2-core machine at load
# average ~10 (issue 9): only their ratios matter here. Node ids, or the start of them.
# Tests that start processes of their own: the first half, one after another.
PROCESSES: dict[str, float] = {
    "tests/test_scale_out.py::": 298,
    "tests/test_schemathesis.py::test_no_server_error": 191,
    "tests/test_stack.py::test_make_run_stack_survives": 134,
    "tests/test_stack.py::test_make_run_stack_keeps": 56,
    "tests/test_delivery_crash.py::": 54,
    "tests/console/test_console_stack.py::": 52,
    "tests/test_schemathesis.py::test_on_postgresql": 47,
    "tests/test_report_schedules.py::": 18,
}
# Slow tests in the worker's own process: the second half.
IN_PROCESS: dict[str, float] = {
    "tests/worker/test_simulated_reports.py::": 45,
    "tests/api/test_access.py::test_the_role_table_holds_for_every_endpoint[sqlite]": 41,
    "tests/api/test_access.py::test_the_role_table_holds_for_every_endpoint[postgresql]": 25,
    "tests/console/test_access.py::test_each_role": 22,
    "tests/worker/test_worker_start.py::test_the_worker_refuses_the_public": 20,
    "tests/console/test_review_owner.py::": 18,
    "tests/worker/test_simulate_equivalence.py::": 16,
    "tests/worker/test_rebuild.py::test_rebuild_after_losing_the_read_model[postgresql]": 16,
}

T = TypeVar("T")


def weight(nodeid: str, table: dict[str, float]) -> float:
    return max((s for prefix, s in table.items() if nodeid.startswith(prefix)), default=0.0)


def balanced(items: Sequence[T], nodeids: Sequence[str]) -> list[T]:
    """``items`` (with their ``nodeids``) reordered: the first half opens with the tests that
    start processes, the second with the slow in-process ones (each the longest first), the others
    after them in their collected order."""
    halves = [
        sorted(
            (i for i, nodeid in enumerate(nodeids) if weight(nodeid, table) > 0),
            key=lambda i, table=table: -weight(nodeids[i], table),  # type: ignore[misc]
        )
        for table in (PROCESSES, IN_PROCESS)
    ]
    chosen = set(halves[0]) | set(halves[1])
    rest = [i for i in range(len(items)) if i not in chosen]
    # xdist sends the first worker len // 2 items, the second the remainder.
    room = len(items) // 2 - len(halves[0])
    if room < 0 or len(items) - len(items) // 2 < len(halves[1]):
        return list(items)  # a small selection (-k, one file): the order hardly matters
    order = halves[0] + rest[:room] + halves[1] + rest[room:]
    return [items[i] for i in order]
