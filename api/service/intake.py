"""登记: recording a petition and starting its workflow, safely repeatable."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from api.deps import Services
from api.errors import Invalid, NotAllowed, Refused, Unavailable, require
from api.schemas import PetitionCreate, PetitionPublic
from api.service.case import responsible_unit
from api.service.views import petition_public
from core.starter import WorkflowIdentityConflict, ensure_started, start_input
from domain.access import Action, Principal
from store import petitions
from store.models import Petition

log = logging.getLogger("petitionflow.api")


@dataclass(frozen=True)
class Registered:
    petition: PetitionPublic
    replayed: bool  # an Idempotency-Key seen before: nothing new was recorded or started


async def register(
    session: AsyncSession,
    services: Services,
    reader: Principal,
    body: PetitionCreate,
    idempotency_key: str | None = None,
) -> Registered:
    """登记, and 交办 when ``body.unit_id`` is given: record the petition, flag a repeat (重复件)
    of a terminated matter (三级终结: declined at once unless the bureau recorded new facts and
    reasons), and start its workflow. When Temporal is down the record stays
    (the worker's sweep starts it later) and the answer is Unavailable naming the number."""
    require(reader, Action.REGISTER)
    if body.unit_id is not None:  # 登记 and 交办 at once: the assignment is the bureau's
        require(reader, Action.ASSIGN)
        await responsible_unit(session, body.unit_id)
    if body.new_facts is not None and not reader.is_bureau:  # an integration's intake
        raise NotAllowed(
            f"{reader.username} may not record new facts and reasons (新的事实和理由): only the "
            "bureau judges whether a matter terminated after re-review runs again"
        )
    intake, fingerprint = _intake(body)
    petitioner = body.petitioner
    repeat = await petitions.repeat_match(
        session,
        phone=petitioner.phone,
        category=body.category.value,
        id_number=petitioner.id_number,
    )
    intake["repeat_of"], intake["repeat_rule"] = repeat or (None, None)
    settings = services.settings
    try:
        registration = await petitions.register(
            session,
            intake=intake,
            now=petitions.utcnow(),
            policy=settings.policy_snapshot(),
            policy_version=settings.policy(body.unit_id, body.category.value).version,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
    except petitions.IdempotencyConflict as exc:
        raise Invalid(
            "Idempotency-Key",
            "key_reused",
            "this Idempotency-Key was used for a different petition",
            idempotency_key,
            where="header",
        ) from exc
    row = registration.petition
    if not row.workflow_started:
        await _start(services, row)
    return Registered(petition_public(row, reader), replayed=not registration.created)


# Issue 13's report facts (去向层级, 初信初访, 重点信访人).
ADDED_SINCE_FINGERPRINTS = {"destination_level", "first_time", "key_petitioner"}


def _intake(body: PetitionCreate) -> tuple[dict[str, Any], str]:
    """The intake record's columns, and the fingerprint a repeated Idempotency-Key must match."""
    payload = body.model_dump(mode="json")
    # Fields added since keys were first fingerprinted count only when set otherwise than by
    # default: a request retried across an upgrade still matches its first answer.
    defaults = body.model_dump(mode="json", include=ADDED_SINCE_FINGERPRINTS)
    unset = {k for k, v in defaults.items() if v == PetitionCreate.model_fields[k].default}
    fingerprinted = {k: v for k, v in payload.items() if k not in unset}
    fingerprint = hashlib.sha256(
        json.dumps(fingerprinted, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    intake = {k: v for k, v in payload.items() if k != "petitioner"}
    intake.update(
        petitioner_name=body.petitioner.name,
        petitioner_phone=body.petitioner.phone,
        petitioner_id_number=body.petitioner.id_number,
    )
    return intake, fingerprint


async def _start(services: Services, row: Petition) -> None:
    settings = services.settings
    try:
        await ensure_started(
            await services.temporal(),
            settings.task_queue,
            start_input(row, settings.review_units),
        )
    except (RPCError, Unavailable) as exc:
        # The intake row is safe; the worker's sweep starts the workflow later.
        log.warning("petition %s registered, workflow not started yet: %s", row.id, exc)
        raise Unavailable(
            f"petition {row.id} is registered, but the workflow engine is unavailable; "
            "it will start automatically"
        ) from exc
    except WorkflowIdentityConflict as exc:
        # Logged by the starter; the row stays unstarted, and the sweep refuses it again each
        # pass, until the operator resolves the clash (README, "Workflow identity").
        raise Refused(str(exc)) from exc
    # Not marked started here: the workflow's first step marks it (in the read model), one
    # write fewer on the way to the answer; the worker's sweep finds a row whose workflow never
    # wrote that step, and starting it again is a no-op for a running one.
