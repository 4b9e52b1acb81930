"""Benchmark: the county-year simulator (issue 13, item 7), 2,400 petitions through their whole
lifecycle; target ≤ 60 s on the 2-core machine.

    .venv/bin/python -m bench.simulate_year [--petitions 2400] [--previous-year]
        [--faithful-petitions 40]

Runs ``worker.simulate.simulate`` into a throwaway SQLite read model in its default (fast) mode,
then ``--faithful-petitions`` through the time-skipping server (``--faithful``; 0: not), and
prints for each the wall time from the first migration to the last row written, the petitions
per second, the CPU time of the process and of its children (the Java test server), and the
machine's load average at the start and the end: on a shared machine the figure is the
machine's as much as the simulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
from datetime import date
from pathlib import Path

from core.settings import get_settings
from worker.simulate import simulate

TARGET_PETITIONS, TARGET_SECONDS = 2400, 60.0  # 40 petitions a second


def _run(petitions: int, year: int, previous_year: bool, faithful: bool) -> None:
    load_before = os.getloadavg()[0]
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'county.db'}"
        settings = get_settings().model_copy(update={"database_url": url})
        outcome = asyncio.run(
            simulate(settings, petitions, year, previous_year=previous_year, faithful=faithful)
        )
    own = _cpu(resource.RUSAGE_SELF) - _cpu(own_before)
    children = _cpu(resource.RUSAGE_CHILDREN) - _cpu(children_before)
    # A smaller run is judged by its rate: the target's is 40 petitions a second.
    rate = outcome.petitions / outcome.seconds
    verdict = "met" if rate >= TARGET_PETITIONS / TARGET_SECONDS else "NOT met"
    mode = "--faithful (time-skipping server)" if faithful else "default (virtual clock)"
    print(
        f"{mode}: simulated {outcome.petitions} petitions "
        f"({', '.join(map(str, outcome.years))}) in {outcome.seconds:.1f} s = {rate:.1f}/s; "
        f"target {TARGET_PETITIONS} in ≤ {TARGET_SECONDS:.0f} s "
        f"({TARGET_PETITIONS / TARGET_SECONDS:.0f}/s): {verdict}\n"
        f"  CPU: simulator {own:.1f} s, test server {children:.1f} s; load average "
        f"{load_before:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{len(outcome.refused)} actions refused"
    )


def _cpu(usage: int | resource.struct_rusage) -> float:
    if isinstance(usage, int):
        usage = resource.getrusage(usage)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--petitions", type=int, default=2400)
    parser.add_argument("--year", type=int, default=date.today().year)
    parser.add_argument("--previous-year", action="store_true", help="play the year before too")
    parser.add_argument(
        "--faithful-petitions", type=int, default=40, help="then this many with --faithful"
    )
    args = parser.parse_args()
    _run(args.petitions, args.year, args.previous_year, faithful=False)
    if args.faithful_petitions:
        _run(args.faithful_petitions, args.year, args.previous_year, faithful=True)


if __name__ == "__main__":
    main()
