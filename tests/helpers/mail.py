"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, refuses the addresses
a test names (550) and can be started late (a server down, then up)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers.ports import free_port


class Mailbox:
    """The server's handler: every message accepted, as parsed email."""

    def __init__(self, rcpt_delay: float = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        # A slow server: each recipient is answered this many seconds later, one message at a
        # time (a crash test's deliveries spread out, and a kill lands before a message's DATA).
        self.rcpt_delay = rcpt_delay
        self._one_at_a_time: asyncio.Lock | None = None
        # The client end of the connection each message came over (distinct per connection).
        self.peers: list[Any] = []
        # A server that ends a session after this many messages, at the next MAIL: by closing
        # the connection ("close") or answering 421 ("421"); None never.
        self.drop_after: int | None = None
        self.drop_with = "close"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.drop_after is not None and self.peers.count(session.peer) >= self.drop_after:
            if self.drop_with == "close":
                server.transport.close()
            else:
                asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_delay:
            self._one_at_a_time = self._one_at_a_time or asyncio.Lock()  # on the server's loop
            async with self._one_at_a_time:
                await asyncio.sleep(self.rcpt_delay)
        if address in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.peers.append(session.peer)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    """Serve ``mailbox`` on ``port`` (a free one unless given) while the block runs."""
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
