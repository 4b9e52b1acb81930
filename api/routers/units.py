"""The org directory's units (责任单位)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import UnitPublic
from domain.vocabulary import UnitKind
from store import directory

router = APIRouter(tags=["units"])


@router.get("/units", response_model=list[UnitPublic])
async def list_units(session: SessionDep) -> list[UnitPublic]:
    """Every unit of the directory: townships, county departments and the bureau."""
    return [
        UnitPublic(id=u.id, name=u.name, kind=UnitKind(u.kind))
        for u in await directory.list_units(session)
    ]
