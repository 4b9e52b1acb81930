"""Benchmark: the county-year simulator (issue 13, item 7), 2,400 petitions through their whole
lifecycle on the time-skipping server; target ≤ 60 s on the 2-core machine.

    .venv/bin/python -m bench.simulate_year [--petitions 2400] [--previous-year]

Runs ``worker.simulate.simulate`` into a throwaway SQLite read model and prints the wall time
from the first migration to the last copied row, the petitions per second, the process's own
CPU time and its children's (the Java test server), and the machine's load average at the start
and the end: on a shared machine the figure is the machine's as much as the simulator's.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--petitions", type=int, default=2400)
    parser.add_argument("--year", type=int, default=date.today().year)
    parser.add_argument("--previous-year", action="store_true", help="play the year before too")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'county.db'}"
        settings = get_settings().model_copy(update={"database_url": url})
        outcome = asyncio.run(
            simulate(settings, args.petitions, args.year, previous_year=args.previous_year)
        )
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # A smaller run is judged by its rate: the target's is 40 petitions a second.
    rate = outcome.petitions / outcome.seconds
    verdict = "met" if rate >= TARGET_PETITIONS / TARGET_SECONDS else "NOT met"
    print(
        f"simulated {outcome.petitions} petitions ({', '.join(map(str, outcome.years))}) in "
        f"{outcome.seconds:.1f} s = {rate:.1f}/s; target {TARGET_PETITIONS} in "
        f"≤ {TARGET_SECONDS:.0f} s ({TARGET_PETITIONS / TARGET_SECONDS:.0f}/s): {verdict}\n"
        f"  CPU: simulator {own.ru_utime + own.ru_stime:.1f} s, test server "
        f"{children.ru_utime + children.ru_stime:.1f} s; load average {load_before:.1f} → "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{len(outcome.refused)} actions refused"
    )


if __name__ == "__main__":
    main()
