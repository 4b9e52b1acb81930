"""A free TCP port on 127.0.0.1 for a server a test starts (the stack, PostgreSQL, SMTP).

Chosen below the kernel's ephemeral range (Linux: 32768–60999, ip_local_port_range). A port
that ``bind(("127.0.0.1", 0))`` hands out is free only at that moment: until our server binds it
(a make-run stack takes seconds to start) the source port of any process's outgoing connection,
or another server binding port 0 (the other pytest processes' dev servers start at the same
moment), may take it. A stack's worker once answered its metrics port with another server's
bytes ("illegal request line"). Below the range only our own picks compete: each pytest process
(xdist worker) has a block of ports of its own, and each pick is checked bindable."""

from __future__ import annotations

import itertools
import os
import socket

FIRST = 20_000  # the blocks lie in 20000–31999, below the ephemeral range
# Ports per pytest process: its tests take far fewer in a run (the stacks, fleets, SMTP servers
# and its PostgreSQL cluster), and a pick wraps around the block, skipping what is still bound
# or in TIME_WAIT.
BLOCK = 1_000
# Processes with blocks of their own (xdist's gw0–gw11); more share them. With six blocks of
# 2,000, `pytest -n 8` failed two stack tests: gw6 and gw7 picked gw0's and gw1's ports.
BLOCKS = 12
_picks = itertools.count()


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST + (int(worker) % BLOCKS if worker.isdigit() else 0) * BLOCK
    for _ in range(BLOCK):
        port = start + next(_picks) % BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or still in TIME_WAIT from an earlier server
            return port
    raise RuntimeError(f"no free port in {start}–{start + BLOCK - 1}")
