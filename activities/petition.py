"""Activities of PetitionWorkflow. Grouped in a class whose constructor takes the database
session factory, so tests and production inject their own."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

from domain.contracts import FIND_ROLE_HOLDER, RECORD_STEP, Person, RoleLookup, StepRecord
from domain.vocabulary import ROLE_LABELS, Role
from store import directory, petitions

log = logging.getLogger("petitionflow.notices")


class DirectoryIncomplete(Exception):
    """Nobody holds the post and the bureau has no dispatcher either: a configuration error the
    operator must fix. The activity keeps retrying, so the petition resumes once it is fixed."""


class PetitionActivities:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    @activity.defn(name=FIND_ROLE_HOLDER)
    async def find_role_holder(self, lookup: RoleLookup) -> Person:
        """Who holds ``role`` in the petition's unit *now* (people change posts while a case
        lives). A vacant post falls to the bureau's dispatcher, so the slip still reaches
        someone who can act, with a note saying why."""
        async with self._sessions() as session:
            unit_id = lookup.unit_id
            note = None
            if lookup.role == Role.BUREAU_DISPATCHER:
                unit_id = await directory.bureau_unit_id(session) or unit_id
            holders = await directory.role_holders(session, unit_id, lookup.role.value)
            chosen = next((h for h in holders if h[0].id == lookup.preferred_person_id), None) or (
                holders[0] if holders else None
            )
            role = lookup.role
            if chosen is None:
                bureau = await directory.bureau_unit_id(session)
                fallback = (
                    await directory.role_holders(session, bureau, Role.BUREAU_DISPATCHER.value)
                    if bureau
                    else []
                )
                if not fallback:
                    raise DirectoryIncomplete(
                        f"no {lookup.role} in unit {lookup.unit_id} and no bureau dispatcher"
                    )
                chosen, role, unit_id = fallback[0], Role.BUREAU_DISPATCHER, fallback[0][1].unit_id
                note = f"{ROLE_LABELS[lookup.role]}岗位空缺，由信访局交办人员接收"
            person, _post = chosen
            return Person(
                person_id=person.id,
                name=person.name,
                title=person.title,
                role=role,
                unit_id=unit_id,
                note=note,
            )

    @activity.defn(name=RECORD_STEP)
    async def record_step(self, record: StepRecord) -> bool:
        """Project one step and put its notice in the outbox, once however often it runs."""
        async with self._sessions() as session:
            wrote = await petitions.project(session, record, petitions.utcnow())
        if wrote and record.notice is not None:
            # Personal data never goes to the log: the petition number and the slip are enough.
            log.info(
                "notice %s %s → %s (%s): %s",
                record.state.id,
                record.notice.kind,
                record.notice.recipient.person_id,
                record.notice.recipient.role,
                record.notice.text,
            )
        return wrote
