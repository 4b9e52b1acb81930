"""API keys of system integrations (系统对接): the bureau issues, lists and revokes them. Each
key acts as an integration's service account (服务账号, created by the operators with
``python -m worker.accounts add-service-account``), with that account's own role and no post:
never as a person, so no key lets anyone act in someone else's name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from api.auth import DirectoryAdmin
from api.deps import SessionDep
from api.errors import Invalid
from api.schemas import MAX_ROW_ID, ApiKeyIn, ApiKeyIssued, ApiKeyPublic
from store import accounts
from store.models import ApiKey

router = APIRouter(prefix="/auth", tags=["sign-in"])
KeyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyIssued,
    responses={
        403: {"description": "only the bureau issues API keys"},
        422: {"description": "person_id is no service account (a person, or nobody)"},
    },
)
async def issue_api_key(
    body: ApiKeyIn, session: SessionDep, issuer: DirectoryAdmin
) -> ApiKeyIssued:
    """An API key for a system integration, acting as ``person_id``: its service account (服务
    账号, created by the operators), with that account's own role — never a person, whatever
    their post. The key is in this answer only; the audit trail names it and its issuer at
    every use."""
    try:
        row, key = await accounts.issue_api_key(session, body.person_id, body.name, issuer.username)
    except accounts.NotServiceAccount as exc:
        raise Invalid("person_id", "not_service_account", str(exc), body.person_id) from exc
    await session.commit()
    return ApiKeyIssued(
        **ApiKeyPublic.model_validate(row, from_attributes=True).model_dump(), key=key
    )


@router.get("/api-keys", response_model=list[ApiKeyPublic])
async def list_api_keys(session: SessionDep, _: DirectoryAdmin) -> list[ApiKeyPublic]:
    """Every API key issued, revoked ones included (never the keys themselves)."""
    return [
        ApiKeyPublic.model_validate(r, from_attributes=True)
        for r in await accounts.api_keys(session)
    ]


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyPublic,
    responses={404: {"description": "no such API key"}},
)
async def revoke_api_key(key_id: KeyId, session: SessionDep, _: DirectoryAdmin) -> ApiKeyPublic:
    """Revoke an API key: it stops working at once; the record stays."""
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise HTTPException(404, f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await session.commit()
    return ApiKeyPublic.model_validate(row, from_attributes=True)
