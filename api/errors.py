"""Errors the routers raise for checks pydantic cannot make, in FastAPI's own shape."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


def unprocessable(
    field: str, kind: str, message: str, value: Any, where: str = "body"
) -> HTTPException:
    """A 422 like FastAPI's validation errors, naming the field (``where``: body, query,
    header), so a client handles both alike."""
    return HTTPException(
        422, [{"loc": [where, field], "type": kind, "msg": message, "input": value}]
    )
