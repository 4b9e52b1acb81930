"""Benchmark: the web console's pages on the demo county (issue 12: p95 ≤ 100 ms).

    .venv/bin/python -m bench.console_pages [--petitions 200] [--runs 100]

Starts a Temporal dev server, the petition worker and the API (uvicorn) as processes of their
own, as ``make run`` does, on a SQLite read model with the demo county; opens ``--petitions``
petitions (registered, assigned, accepted: their slips, documents and timelines written), then
signs in to the console as the bureau and as a township's handler and times ``--runs`` loads of
each page, one at a time, as a person clicks: 我的待办, the list, a petition, the 督查 board,
the queue, the 登记 form and the directory. Prints p50 / p95 per page against the target.
A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable

import httpx

from bench import harness
from bench.harness import Timings, timed, verdict
from tests.helpers.county import BUREAU

TARGET_P95_MS = 100.0
HANDLER = "dongguan-h1"


async def signed_in(base: str, username: str) -> httpx.AsyncClient:
    """A browser-like client with the console's session cookie."""
    http = httpx.AsyncClient(base_url=base, timeout=30)
    form = await http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the sign-in form"
    answer = await http.post(
        "/login", data={"username": username, "password": "demo", "csrf": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    return http


def loader(http: httpx.AsyncClient, path: str) -> Callable[[int], Awaitable[httpx.Response]]:
    """One load of ``path`` (the run's number is not used)."""

    async def load(_run: int) -> httpx.Response:
        return await http.get(path)

    return load


async def main(count: int, runs: int) -> None:
    async with harness.stack(postgres=False, api=True) as running:
        opened, seconds = await harness.open_petitions(running, count)
        print(f"opened {len(opened):,} petitions in {seconds:.0f} s", flush=True)
        base = running.api_url.removesuffix("/api/v1")
        bureau = await signed_in(base, BUREAU)
        handler = await signed_in(base, HANDLER)
        # A petition of the handler's: the first their 我的待办 links to.
        home = (await handler.get("/")).text
        mine = re.findall(r'href="/petitions/(XF-[0-9-]+)"', home)[0]
        pages = [
            ("我的待办 (handler)", handler, "/"),
            ("我的待办 (bureau)", bureau, "/"),
            ("petition list", bureau, "/petitions"),
            ("petition page", handler, f"/petitions/{mine}"),
            ("督查 board", bureau, "/board"),
            ("待交办 queue", bureau, "/queue"),
            ("登记 form", bureau, "/register"),
            ("directory", bureau, "/directory"),
        ]
        target = f"target p95 ≤ {TARGET_P95_MS:g} ms"
        print(f"{'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}  {target}")
        worst = 0.0
        for name, http, path in pages:
            await http.get(path)  # warm: templates compiled, connections open
            timings, _ = await timed(range(runs), 1, loader(http, path), Timings())
            worst = max(worst, timings.p(95))
            print(
                f"{name:<22} {timings.p(50):8.1f} {timings.p(95):8.1f} {timings.error_text():>7}",
                flush=True,
            )
        met = verdict(worst <= TARGET_P95_MS)
        print(f"worst page p95 {worst:.1f} ms vs {target}: {met}")
        await bureau.aclose()
        await handler.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--petitions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    harness.run(main(args.petitions, args.runs))
