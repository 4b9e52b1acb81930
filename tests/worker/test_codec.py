"""The payload codec: what Temporal stores is ciphertext, and only the configured keys open it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from core.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    UnencryptedPayload,
    key_id,
)
from core.settings import DEV_PAYLOAD_KEY
from core.temporal import data_converter, tls_config
from domain.contracts import TimelineEvent
from domain.vocabulary import EventKind
from store.petitions import utcnow
from tests.helpers.settings import make_settings

PHONE = "13912345678"
EVENT = TimelineEvent(seq=1, at=utcnow(), kind=EventKind.REGISTERED, note=f"来电 {PHONE}")


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def test_round_trip_is_ciphertext_in_between(tmp_path: Path) -> None:
    converter = data_converter(make_settings(tmp_path, payload_key=new_key()))
    [payload] = await converter.encode([EVENT])
    assert payload.metadata["encoding"] == ENCODING
    assert PHONE.encode() not in payload.data
    assert "来电".encode() not in payload.data
    assert await converter.decode([payload], [TimelineEvent]) == [EVENT]


async def test_another_key_fails_naming_the_key(tmp_path: Path) -> None:
    sealed = await data_converter(make_settings(tmp_path, payload_key=new_key())).encode([EVENT])
    other = data_converter(make_settings(tmp_path, payload_key=new_key()))
    with pytest.raises(PayloadKeyError, match="not configured"):
        await other.decode(sealed, [TimelineEvent])


async def test_altered_ciphertext_fails() -> None:
    codec = EncryptionCodec(os.urandom(32))
    [payload] = await codec.encode(await pydantic_data_converter.encode([EVENT]))
    payload.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError, match="altered"):
        await codec.decode([payload])


async def test_unencrypted_payloads_pass_through(tmp_path: Path) -> None:
    """Histories recorded before the codec (tests/histories/v1) hold plain JSON payloads: the
    replay's converter opens them (issue 10: only the replay's)."""
    plain = await pydantic_data_converter.encode([EVENT])
    converter = data_converter(make_settings(tmp_path), replay=True)
    assert await converter.decode(plain, [TimelineEvent]) == [EVENT]


async def test_unencrypted_payloads_are_refused_outside_replay(tmp_path: Path) -> None:
    """A plain payload comes from someone without the key (a forged CLI update): the API's and
    the worker's converter refuse it, naming the encoding it came with."""
    plain = await pydantic_data_converter.encode([EVENT])
    converter = data_converter(make_settings(tmp_path))
    with pytest.raises(UnencryptedPayload, match=r"unencrypted payload \(json/plain\) refused"):
        await converter.decode(plain, [TimelineEvent])


async def test_old_keys_still_open_what_they_sealed(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    sealed = await data_converter(make_settings(tmp_path, payload_key=old)).encode([EVENT])
    rotated = data_converter(make_settings(tmp_path, payload_key=new, payload_old_keys=[old]))
    assert await rotated.decode(sealed, [TimelineEvent]) == [EVENT]
    [resealed] = await rotated.encode([EVENT])
    assert resealed.metadata[KEY_ID].decode() == key_id(base64.b64decode(new))


def test_default_or_malformed_payload_key_is_insecure(tmp_path: Path) -> None:
    def flagged(key: str) -> bool:
        problems = make_settings(tmp_path, payload_key=key).insecure_settings()
        return any("PETITIONFLOW_PAYLOAD_KEY" in p for p in problems)

    assert flagged(DEV_PAYLOAD_KEY)
    assert flagged(base64.b64encode(os.urandom(16)).decode())
    assert flagged("not base64!")
    assert not flagged(new_key())


def test_malformed_payload_key_refuses_to_connect(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PETITIONFLOW_PAYLOAD_KEY"):
        data_converter(make_settings(tmp_path, payload_key="c2hvcnQ="))


async def test_failure_messages_are_encrypted_too(tmp_path: Path) -> None:
    """A validation error quotes its input; in history it must be as unreadable as the input."""
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    converter = data_converter(make_settings(tmp_path, payload_key=new_key()))
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"bad input: phone {PHONE}"), failure)
    assert PHONE.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert PHONE in str(decoded)


def test_mtls_to_the_frontend_when_a_client_certificate_is_set(tmp_path: Path) -> None:
    assert tls_config(make_settings(tmp_path)) is False  # make run, the compose network
    for name in ("cert", "key", "ca"):
        (tmp_path / f"{name}.pem").write_bytes(f"-----{name}-----".encode())
    tls = tls_config(
        make_settings(
            tmp_path,
            temporal_tls_cert=tmp_path / "cert.pem",
            temporal_tls_key=tmp_path / "key.pem",
            temporal_tls_ca=tmp_path / "ca.pem",
        )
    )
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (
        b"-----cert-----",
        b"-----key-----",
        b"-----ca-----",
    )
    with pytest.raises(ValueError, match="go together"):
        tls_config(make_settings(tmp_path, temporal_tls_cert=tmp_path / "cert.pem"))
