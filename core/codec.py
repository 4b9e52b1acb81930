"""Encryption of every payload Temporal stores (workflow inputs, results, activity arguments,
update and query values): AES-256-GCM, so the petitioner's data carried in a workflow's input
is ciphertext in Temporal's database, its Web UI and its CLI.

Each payload names the key that sealed it (an id derived from the key, not the key), so a key
can be replaced while old histories still decrypt with the old one.

A payload without the encrypted encoding was not written by this deployment: anyone who reaches
Temporal's frontend can send one (``temporal workflow update execute --input '{…}'``), and it
would act as an officer with no sign-in, no access check and no audit row. The codec therefore
turns it into a refused payload, which the payload converter answers with
:class:`UnencryptedPayload`: an update is rejected before its validator, a forged start fails
its workflow task, and nothing is applied. Only history replay opens plain payloads: a
workflow replaying an update recorded before this refusal, or a Replayer on a codec made with
``accept_plain`` (the saved histories, recorded without the codec). A workflow started before
the codec cannot resume on a refusing worker: drain those first (README, "Security").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
# What an unencrypted payload becomes in a strict codec; the encoding it came with is kept beside.
REFUSED_ENCODING = b"binary/unencrypted-refused"
REFUSED_FROM = "refused-encoding"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per payload


class PayloadKeyError(ValueError):
    """A payload cannot be decrypted: its key is not configured, or it is not the key's."""


class UnencryptedPayload(ValueError):
    """A payload arrived unencrypted, so not from this deployment's API or worker. Raised while
    converting arguments, it rejects an update before its validator runs (nothing applied,
    nothing in the history); a forged start fails its workflow task, and stays so until
    terminated, rather than running."""

    def __init__(self, encoding: str) -> None:
        super().__init__(
            f"unencrypted payload ({encoding or 'no encoding'}) refused: only payloads encrypted "
            "with this deployment's key are accepted; officers act through the API"
        )


class PetitionPayloadConverter(PydanticPayloadConverter):
    """Pydantic's JSON; a payload the codec refused raises UnencryptedPayload, unless a workflow
    is replaying its own history: what is recorded there already ran, and must run the same way
    again. (A start input is converted outside the workflow's loop, where replay cannot be told:
    it is always refused.)"""

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        return super().from_payloads([_readable(payload) for payload in payloads], type_hints)


def _readable(payload: Payload) -> Payload:
    if payload.metadata.get("encoding") != REFUSED_ENCODING:
        return payload
    if workflow.in_workflow() and workflow.unsafe.is_replaying():
        return Payload.FromString(payload.data)
    raise UnencryptedPayload(payload.metadata.get(REFUSED_FROM, b"").decode())


def key_id(key: bytes) -> str:
    """A name for a key that does not reveal it: the start of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """Seals payloads with ``key``; opens those sealed with ``key`` or any of ``old_keys``.
    Unencrypted payloads are refused unless ``accept_plain`` (history replay only)."""

    def __init__(
        self, key: bytes, old_keys: Sequence[bytes] = (), *, accept_plain: bool = False
    ) -> None:
        for candidate in (key, *old_keys):
            if len(candidate) != KEY_BYTES:
                raise ValueError(f"a payload key is {KEY_BYTES} bytes, not {len(candidate)}")
        self._key_id = key_id(key)
        self._ciphers = {key_id(k): AESGCM(k) for k in (*old_keys, key)}
        self._accept_plain = accept_plain

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated too: a payload relabelled with another id fails to open.
        sealed = self._ciphers[self._key_id].encrypt(
            nonce, payload.SerializeToString(), self._key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._key_id.encode()}, data=nonce + sealed
        )

    def _open(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != ENCODING:
            if self._accept_plain:
                return payload  # a history recorded without the codec, replayed
            # Not raised here: an error in the codec fails the whole workflow task, again at
            # every retry, so one forged update would stall the petition's timers for good.
            return Payload(
                metadata={"encoding": REFUSED_ENCODING, REFUSED_FROM: encoding},
                data=payload.SerializeToString(),  # for a replay of the history that holds it
            )
        sealed_with = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(sealed_with)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with key {sealed_with!r}, which is not configured "
                "(PETITIONFLOW_PAYLOAD_KEY, PETITIONFLOW_PAYLOAD_OLD_KEYS)"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, sealed_with.encode())
        except InvalidTag as exc:
            raise PayloadKeyError(
                f"payload encrypted with key {sealed_with!r} does not decrypt: altered in storage"
            ) from exc
        return Payload.FromString(plain)
