"""SMTP connections kept open between messages in one worker process (issue 11): a new connection
per message (TCP, EHLO, STARTTLS, sign-in) cost both ends more CPU than the message itself, and
a burst of 1,600 notices competes with the chain's workflow tasks for the same cores."""

from __future__ import annotations

import asyncio
import time
from email.message import Message
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:  # the server's settings are the email channel's (which imports this)
    from activities.channels.email import SmtpServer

# An idle connection is closed after this long: servers drop idle clients themselves (often
# after a minute or more), and a worker between bursts need not hold the server's slots.
IDLE_SECONDS = 30.0
# Servers limit the messages of one session (some at 100); a connection is renewed before.
MESSAGES_PER_CONNECTION = 90
# "Service not available, closing transmission channel": the server ends the session.
SERVICE_CLOSING = 421


class _Connection:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.sent = 0
        self.idle_since = time.monotonic()


class SmtpPool:
    """At most ``size`` connections to one server, each used by one message at a time. A message
    goes over an idle open connection when there is one; a reused connection the server dropped
    meanwhile (closed, ``SMTPServerDisconnected``, a 421) is replaced by a new one and the message
    tried once more on it: the resend the activity's retry would make, with the same Message-ID,
    only sooner (a drop on a new connection is the caller's, as before). Any other failure closes
    the connection (its state is unknown) and is the caller's to classify."""

    def __init__(
        self,
        server: SmtpServer,
        size: int,
        *,
        idle_seconds: float = IDLE_SECONDS,
        local_hostname: str | None = None,
    ) -> None:
        self._server = server
        self._size = max(1, size)
        self._idle_seconds = idle_seconds
        self._local_hostname = local_hostname
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self.opened = 0  # connections opened so far (the tests count them)

    def _bind(self) -> asyncio.Semaphore:
        """The slots of the running event loop. A worker has one loop for its life; a new loop
        (one per test) cannot use the last one's connections: they are dropped."""
        loop = asyncio.get_running_loop()
        if self._slots is None or loop is not self._loop:
            self._idle = []
            self._reaper = None
            self._slots = asyncio.Semaphore(self._size)
            self._loop = loop
        return self._slots

    async def send(self, mail: Message) -> None:
        async with self._bind():
            connection, reused = self._take(), True
            if connection is None:
                connection, reused = await self._open(), False
            try:
                try:
                    await connection.client.send_message(mail)
                except aiosmtplib.SMTPException as exc:
                    if not (reused and _dropped(exc)):
                        raise
                    connection.client.close()
                    connection = await self._open()
                    await connection.client.send_message(mail)
            except BaseException:
                connection.client.close()
                raise
            self._give_back(connection)

    def _take(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recently used: least likely dropped
            if connection.client.is_connected:
                return connection
        return None

    async def _open(self) -> _Connection:
        server = self._server
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.starttls,
            validate_certs=server.validate_certs,
            timeout=server.timeout,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        self.opened += 1
        return _Connection(client)

    def _give_back(self, connection: _Connection) -> None:
        connection.sent += 1
        if connection.sent >= MESSAGES_PER_CONNECTION:
            self._close(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        if self._reaper is None and self._loop is not None:
            self._reaper = self._loop.call_later(self._idle_seconds, self._reap)

    def _reap(self) -> None:
        """Close the connections idle for ``idle_seconds``; look again while some stay open."""
        self._reaper = None
        cutoff = time.monotonic() - self._idle_seconds
        for connection in [c for c in self._idle if c.idle_since <= cutoff]:
            self._idle.remove(connection)
            self._close(connection)
        if self._idle and self._loop is not None:
            self._reaper = self._loop.call_later(self._idle_seconds, self._reap)

    def _close(self, connection: _Connection) -> None:
        """Close without QUIT's round trip: the server sees the connection end, as on a worker's
        exit; nothing is in flight on an idle connection."""
        connection.client.close()

    def idle(self) -> list[aiosmtplib.SMTP]:
        """The connections open and waiting for a message."""
        return [connection.client for connection in self._idle]

    def close(self) -> None:
        """Close every idle connection (the worker stopping)."""
        for connection in self._idle:
            self._close(connection)
        self._idle = []
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None


def _dropped(exc: aiosmtplib.SMTPException) -> bool:
    """Whether ``exc`` says the server ended the session (rather than refused this message)."""
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == SERVICE_CLOSING
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code == SERVICE_CLOSING for r in exc.recipients)
    return False
