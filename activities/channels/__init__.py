"""The channels notices are sent on (issue 11): one ``Sender`` per channel, behind one interface."""

from __future__ import annotations

from typing import Protocol

from domain.delivery import DeliveryChannel, Outgoing


class Sender(Protocol):
    """Sends one message. Returns the provider's message id when it gives one; raises
    ``PermanentDeliveryFailure`` or ``TransientDeliveryFailure`` (domain.delivery) on failure."""

    channel: DeliveryChannel

    async def send(self, message: Outgoing) -> str | None: ...
