"""SMS (短信) through an HTTP gateway: one JSON POST per message.

The request (README, "SMS and group robots"), to ``PETITIONFLOW_SMS_GATEWAY_URL``::

    POST <gateway url>
    Content-Type: application/json; charset=utf-8
    Idempotency-Key: <notice id>:sms
    Authorization: Bearer <PETITIONFLOW_SMS_GATEWAY_TOKEN>      (when set)

    {"phone": "13800000101", "template_id": "<PETITIONFLOW_SMS_TEMPLATE_ID>",
     "signature": "<PETITIONFLOW_SMS_SIGNATURE>", "params": {"text": "…"},
     "out_id": "<notice id>:sms"}

``out_id`` (and the Idempotency-Key header) is the message's dedup key: a gateway that drops a
second request with an out id it has seen makes a resend after a crash no second SMS. A 2xx
answer is accepted; its JSON ``message_id`` (or ``biz_id``, ``id``), when there is one, is the
provider's id. 4xx is permanent (a bad number, an unknown template) except 408/425/429; 5xx,
timeouts and refused connections are transient.
"""

from __future__ import annotations

from typing import Any

from activities.channels.http import DEFAULT_TIMEOUT, post_json
from core.settings import Settings
from domain.contacts import is_mobile, sms_number
from domain.delivery import DeliveryChannel, Outgoing, PermanentDeliveryFailure

_ID_FIELDS = ("message_id", "biz_id", "id")


class SmsSender:
    """Sends through one gateway with one template and one signature (签名)."""

    channel = DeliveryChannel.SMS

    def __init__(
        self,
        gateway_url: str,
        template_id: str,
        signature: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.gateway_url = gateway_url
        self.template_id = template_id
        self.signature = signature
        self.timeout = timeout
        self._token = token  # never in an error or a log line

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsSender | None:
        """The configured gateway; None when ``PETITIONFLOW_SMS_GATEWAY_URL`` is empty."""
        if not settings.sms_gateway_url:
            return None
        token = settings.sms_gateway_token
        return cls(
            settings.sms_gateway_url,
            settings.sms_template_id,
            settings.sms_signature,
            token=token.get_secret_value() if token else None,
            timeout=settings.channel_timeout_seconds,
        )

    def request(self, message: Outgoing) -> dict[str, Any]:
        """The JSON body for ``message`` (the documented shape above)."""
        return {
            "phone": sms_number(message.address),
            "template_id": self.template_id,
            "signature": self.signature,
            "params": {"text": message.text},
            "out_id": message.dedup_key,
        }

    async def send(self, message: Outgoing) -> str | None:
        if not is_mobile(message.address):
            # Retrying cannot make a landline or a typo a mobile number.
            raise PermanentDeliveryFailure(f"not a mobile number: notice {message.notice_id}")
        headers = {"Idempotency-Key": message.dedup_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        response = await post_json(
            self.gateway_url, self.request(message), timeout=self.timeout, headers=headers
        )
        try:
            data = response.json()
        except ValueError:
            return None  # accepted without an id
        if isinstance(data, dict):
            for field in _ID_FIELDS:
                if data.get(field) is not None:
                    return str(data[field])
        return None
