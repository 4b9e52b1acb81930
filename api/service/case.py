"""A petition as one reader asks for it (the case, 案件): found within their reach, checked
against the rule of the action, and its workflow reached."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Path
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowHandle

from api.auth import CurrentUser
from api.deps import Services, ServicesDep, SessionDep
from api.errors import Invalid, NotFound, require, require_reader
from domain.access import Action, Principal
from domain.contracts import PETITION_ID_PATTERN
from store import directory, petitions
from store.models import Petition


async def reachable(
    session: AsyncSession, petition_id: str, reader: Principal, action: Action | None = None
) -> Petition:
    """The petition, when ``reader`` may see it: one outside their units is NotFound like a
    petition that does not exist, so not even its existence leaks. With ``action``, one they
    see but may not act on is NotAllowed, naming the rule."""
    if reader.service_role is not None:  # before the lookup: alike whether the petition exists
        require(reader, action) if action else require_reader(reader)
    row = (
        await petitions.get(session, petition_id)
        if re.match(PETITION_ID_PATTERN, petition_id)
        else None
    )
    if row is None or not reader.may_read(row.unit_id, row.owner_id, row.handling_unit_id):
        raise NotFound(f"petition {petition_id} not found")
    if action is not None:
        require(reader, action, row.unit_id)
    return row


async def responsible_unit(session: AsyncSession, unit_id: str) -> None:
    """Invalid unless ``unit_id`` is a unit that handles petitions (a township or a
    department, not the bureau)."""
    unit = await directory.get_unit(session, unit_id)
    if unit is None or unit.kind not in ("township", "department"):
        raise Invalid(
            "unit_id",
            "unknown_unit",
            f"no responsible unit {unit_id!r}; see GET /api/v1/units",
            unit_id,
        )


@dataclass
class Case:
    """One petition as one reader asks for it, for one action (None: to read it), with what
    acting on it takes: what the dependency ``petition_for`` yields."""

    session: AsyncSession
    services: Services
    reader: Principal
    petition_id: str
    action: Action | None = None
    # The client's key for this action (Idempotency-Key): a retry with it gets the first answer.
    idempotency_key: str | None = None
    # The action's id once given to the workflow (the Temporal update id): answered in the
    # Action-Id header, so the outcome can be read again under it.
    action_id: str | None = field(default=None, init=False)
    _row: Petition | None = field(default=None, init=False, repr=False)

    async def petition(self) -> Petition:
        """The petition, loaded and checked on first use (NotFound, NotAllowed): from within
        the endpoint, after FastAPI has validated the body — a malformed body answers 422
        before anything is looked up, as it always has."""
        if self._row is None:
            self._row = await reachable(self.session, self.petition_id, self.reader, self.action)
        return self._row

    async def workflow(self) -> WorkflowHandle[Any, Any]:
        """The petition's workflow. The read transaction ends first: on SQLite a transaction
        holds the database lock, and the workflow's own projection must write before it
        answers."""
        await self.session.commit()
        client = await self.services.temporal()
        return client.get_workflow_handle(self.petition_id)

    @property
    def rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.services.settings.temporal_rpc_timeout_seconds)


PetitionId = Annotated[str, Path(description="petition number, e.g. XF-2026-000123")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="the client's own key for this action (printable ASCII): a retry with the "
        "same key gets the first answer instead of acting again",
    ),
]


def petition_for(action: Action | None = None) -> Any:
    """The dependency an endpoint on one petition declares (in the spirit of Netflix Dispatch's
    ``CurrentCase``): the petition of the path's ``petition_id`` as the signed-in reader asks
    for it, for ``action`` — NotFound (404) outside their reach, NotAllowed (403) naming the
    rule, when the endpoint first uses it (``Case.petition``). An action also takes the
    request's Idempotency-Key."""

    def case(
        petition_id: PetitionId, session: SessionDep, services: ServicesDep, reader: CurrentUser
    ) -> Case:
        return Case(session, services, reader, petition_id, action)

    def action_case(
        petition_id: PetitionId,
        session: SessionDep,
        services: ServicesDep,
        reader: CurrentUser,
        idempotency_key: IdempotencyKey = None,
    ) -> Case:
        return Case(session, services, reader, petition_id, action, idempotency_key)

    return Depends(case if action is None else action_case)
