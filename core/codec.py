"""Encryption of every payload Temporal stores (workflow inputs, results, activity arguments,
update and query values): AES-256-GCM, so the petitioner's data carried in a workflow's input
is ciphertext in Temporal's database, its Web UI and its CLI.

Each payload names the key that sealed it (an id derived from the key, not the key), so a key
can be replaced while old histories still decrypt with the old one. Payloads without the
encrypted encoding pass through unchanged: histories recorded before the codec still replay.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per payload


class PayloadKeyError(ValueError):
    """A payload cannot be decrypted: its key is not configured, or it is not the key's."""


def key_id(key: bytes) -> str:
    """A name for a key that does not reveal it: the start of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


class EncryptionCodec(PayloadCodec):
    """Seals payloads with ``key``; opens those sealed with ``key`` or any of ``old_keys``."""

    def __init__(self, key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        for candidate in (key, *old_keys):
            if len(candidate) != KEY_BYTES:
                raise ValueError(f"a payload key is {KEY_BYTES} bytes, not {len(candidate)}")
        self._key_id = key_id(key)
        self._ciphers = {key_id(k): AESGCM(k) for k in (*old_keys, key)}

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
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec (or by a client without it)
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
