"""Serving a small ASGI app (a fake provider: the upper petition system, an SMS gateway, group
robots) on a free port of 127.0.0.1 for the duration of a test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from tests.helpers.waiting import eventually

STARTUP_TIMEOUT = 10.0  # seconds the app may take to start listening
SHUTDOWN_TIMEOUT = 10.0  # seconds it may take to stop


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals belong to pytest: Ctrl+C must stop the run, not just this server.
        yield


@contextlib.asynccontextmanager
async def served(app: FastAPI, before_stop: asyncio.Event | None = None) -> AsyncIterator[str]:
    """Serves ``app`` and yields its base URL (http://127.0.0.1:<port>); ``before_stop`` is set
    before the server stops, releasing any request held open on it."""
    # Binding port 0 ourselves hands uvicorn a free port with no window for another process.
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and an accepted socket inherits the listener's. With proto 0 each answer
    # on a kept-alive connection waited for the client's delayed ACK: 44 ms a request against
    # 0.8 ms (requests.Session, 40 calls), so a browser or schemathesis crawled.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def up() -> bool:
        return bool(server.started) or serving.done()

    try:
        await eventually(up, bool, timeout=STARTUP_TIMEOUT)
        if serving.done():
            serving.result()  # raises what stopped it
            raise AssertionError("the app exited before it started")
        yield f"http://127.0.0.1:{port}"
    finally:
        if before_stop is not None:
            before_stop.set()
        server.should_exit = True
        await asyncio.wait_for(serving, SHUTDOWN_TIMEOUT)
        sock.close()
