"""One way to connect to Temporal, shared by the worker, the API and the tools, so that all of
them speak the same data converter: pydantic, with every payload encrypted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from core.codec import EncryptionCodec, PetitionPayloadConverter
from core.settings import Settings
from workflows.petition import SEARCH_ATTRIBUTES

_INDEXED = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def data_converter(settings: Settings, *, replay: bool = False) -> DataConverter:
    """Pydantic models as JSON, then encrypted with the deployment's payload key. Failure
    messages and stack traces are encrypted too: a validation error quotes its input, and an
    input may be a petition's intake. Unencrypted payloads are refused (core/codec.py), except
    with ``replay``: a Replayer reading histories recorded without the codec."""
    key, old_keys = settings.payload_keys()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=PetitionPayloadConverter,
        payload_codec=EncryptionCodec(key, old_keys, accept_plain=replay),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """mTLS to the frontend when the settings name a client certificate and key (both or
    neither); False: plain gRPC."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if cert is None and key is None:
        return False
    if cert is None or key is None:
        raise ValueError("PETITIONFLOW_TEMPORAL_TLS_CERT and _TLS_KEY go together")
    ca = settings.temporal_tls_ca
    return TLSConfig(
        client_cert=cert.read_bytes(),
        client_private_key=key.read_bytes(),
        server_root_ca_cert=ca.read_bytes() if ca else None,
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """``runtime``: the SDK runtime the client and its workers run on (the default one unless
    given), e.g. ``metrics_runtime``'s, whose metrics a worker on this client serves."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
        tls=tls_config(settings),
    )


def metrics_runtime(
    bind_address: str, histogram_buckets: Mapping[str, Sequence[float]] | None = None
) -> Runtime:
    """An SDK runtime serving its metrics for Prometheus at ``http://<bind_address>/metrics``:
    the SDK's own (``temporal_*``: polls, task latencies, failures) and those the activities
    make through ``activity.metric_meter()``, with ``histogram_buckets`` by metric name. Raises
    ValueError when the address cannot be bound. Each runtime has its own threads: one a process."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind_address, histogram_bucket_overrides=histogram_buckets
            )
        )
    )


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register the petition search attributes the server does not know yet. A workflow that
    upserts an unknown one fails every task, so the worker makes sure before it polls."""
    try:
        known = set(
            (
                await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=namespace)
                )
            ).custom_attributes
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()  # the time-skipping test server cannot list; adding is harmless there
    missing = {
        key.name: _INDEXED[key.indexed_value_type]
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
