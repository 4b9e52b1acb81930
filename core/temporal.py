"""One way to connect to Temporal, shared by the worker, the API and the tools, so that all of
them speak the same data converter: pydantic, with every payload encrypted."""

from __future__ import annotations

import dataclasses

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.service import RPCError, RPCStatusCode

from core.codec import EncryptionCodec
from core.settings import Settings
from workflows.petition import SEARCH_ATTRIBUTES

_INDEXED = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic models as JSON, then encrypted with the deployment's payload key. Failure
    messages and stack traces are encrypted too: a validation error quotes its input, and an
    input may be a petition's intake."""
    key, old_keys = settings.payload_keys()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(key, old_keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
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
