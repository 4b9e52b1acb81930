"""Benchmark: the worker's memory with many petitions open.

    .venv/bin/python -m bench.worker_memory [--petitions 10000] [--concurrency 8] [--every 15]

Starts a Temporal dev server, a throwaway PostgreSQL and the petition worker as a process of its
own (``python -m worker``) on the default policy day, so every petition stays open and waits on
its timers. Opens --petitions petitions (registered, started and accepted as in
bench/escalation_lag.py, without HTTP) and prints the worker's resident memory (VmRSS) every
--every seconds while they open and once more when they are all open and the worker is idle.
Target of issue 9: ≤ 500 MB with 10,000 open petitions.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench import harness
from bench.harness import rss_mb, verdict

RSS_TARGET_MB = 500
SETTLE_SECONDS = 10  # after the last accept: the worker finishes its activities and idles


async def main(count: int, concurrency: int, every: float) -> None:
    async with harness.stack(postgres=True) as running:
        pid = running.procs["worker"].pid
        print(f"worker pid {pid}: {rss_mb(pid):.0f} MB at start", flush=True)
        started = time.perf_counter()
        peak = 0.0

        async def sample() -> None:
            nonlocal peak
            while True:
                await asyncio.sleep(every)
                rss = rss_mb(pid)
                peak = max(peak, rss)
                print(f"  {time.perf_counter() - started:5.0f} s: {rss:.0f} MB", flush=True)

        sampler = asyncio.create_task(sample())
        try:
            ids, seconds = await harness.open_petitions(running, count, concurrency=concurrency)
            await asyncio.sleep(SETTLE_SECONDS)
        finally:
            sampler.cancel()
        rss = rss_mb(pid)
        peak = max(peak, rss)
        print(
            f"{len(ids):,} open petitions (opened in {seconds:.0f} s): worker RSS {rss:.0f} MB, "
            f"peak {peak:.0f} MB; target ≤ {RSS_TARGET_MB} MB: {verdict(peak <= RSS_TARGET_MB)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    args = parser.parse_args()
    harness.run(main(args.petitions, args.concurrency, args.every))
