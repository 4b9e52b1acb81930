"""Activities of PetitionWorkflow. Grouped in a class whose constructor takes its dependencies
(database sessions, the upper-level system), so tests and production inject their own."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import NoticeDispatch
from activities.documents import beijing, render
from activities.metrics import observe_step_lag
from activities.upload import ReplyUpload, UpstreamRejected, UpstreamSystem
from domain.calendar import WorkdayCalendar, china_calendar
from domain.contracts import (
    FIND_ROLE_HOLDER,
    PLAN_HANDLING,
    RECORD_CHAIN_STEP,
    RECORD_STEP,
    UPLOAD_REPLY,
    WORKDAY_CALENDAR,
    WRITE_ACCEPTANCE_NOTICE,
    AcceptanceNotice,
    CalendarRequest,
    ChainLookup,
    ChainStepWritten,
    Person,
    PetitionState,
    PlannedSteps,
    PlanRequest,
    RoleLookup,
    StepRecord,
    UploadRequest,
)
from domain.lifecycle import complete_chain_step, needs_calendar, plan_round
from domain.notice_delivery import NoticeRoute, StepWritten
from domain.notices import beijing_date
from domain.vocabulary import PHASE_LABELS, ROLE_LABELS
from store import directory, petitions
from store.db import lookups

log = logging.getLogger("petitionflow.notices")


def acceptance_text(
    notice: AcceptanceNotice,
    petitioner_name: str,
    summary: str,
    unit_name: str,
    handler_phone: str | None,
    *,
    owns: bool,
) -> str:
    """四告知's text: by the activity below, and by the simulator's fast mode from its own rows;
    ``notice`` names its leader (the activity finds one first when it does not)."""
    leader = notice.leader
    assert leader is not None, "the leader is found before the text is written"
    return render(
        "acceptance_notice.txt.j2",
        petition_id=notice.petition_id,
        petitioner_name=petitioner_name,
        summary=summary,
        unit_name=unit_name,
        phase_label=PHASE_LABELS[notice.phase],
        accepted_at=beijing(notice.accepted_at),
        deadline=beijing(notice.deadline),
        deadline_reason=notice.deadline_reason or "按规定期限",
        # 包案领导 only when a leader owns the case; else the post that answers for it.
        leader_label="包案领导" if owns else ROLE_LABELS[leader.role],
        leader_name=leader.name,
        leader_title=leader.title,
        handler_name=notice.handler.name,
        handler_title=notice.handler.title,
        handler_phone=handler_phone or "（见单位公开电话）",
        issued_on=beijing_date(notice.accepted_at),
    )


class PetitionActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        upstream: UpstreamSystem,
        notices: NoticeDispatch | None = None,
    ) -> None:
        self._sessions = sessions
        # Starts each written notice's delivery (issue 11); None: notices stay in the inbox.
        self._notices = notices
        # Lookups only read: on SQLite they then never queue behind the projections' writes
        # (a lookup runs inside the workflow task, as a local activity); on PostgreSQL they
        # run without a transaction around them (store.db.lookups).
        self._lookups = lookups(sessions)
        self._upstream = upstream

    @activity.defn(name=FIND_ROLE_HOLDER)
    async def find_role_holder(self, lookup: RoleLookup) -> Person:
        """Who holds ``role`` in the petition's unit *now* (people change posts while a case
        lives). A vacant post falls to the bureau's dispatcher, so the slip still reaches
        someone who can act, with a note saying why (``store.directory.post_holder``)."""
        async with self._lookups() as session:
            return await directory.post_holder(session, lookup)

    @activity.defn(name=PLAN_HANDLING)
    async def plan_handling(self, request: PlanRequest) -> PlannedSteps:
        """The round's reminders, escalations and deadline. An activity because counting
        working days reads the holiday tables (chinese-calendar), which change between
        releases: the plan is decided once and kept in the workflow's history."""
        calendar = None
        if needs_calendar(request.policy):
            first = request.accepted_at.year
            calendar = china_calendar(range(first, first + 3))
        steps = plan_round(request, calendar)
        return PlannedSteps(steps=steps)

    @activity.defn(name=WORKDAY_CALENDAR)
    async def workday_calendar(self, request: CalendarRequest) -> WorkdayCalendar:
        """The working days (holidays and 调休) for the windows a unit counts in working days:
        read from the holiday tables here, so the workflow keeps the answer in its history."""
        first = request.first_year
        return china_calendar(range(first, first + request.years))

    @activity.defn(name=WRITE_ACCEPTANCE_NOTICE)
    async def write_acceptance_notice(self, notice: AcceptanceNotice) -> None:
        """四告知: the written notice, stored with the petition (once per round). With no
        leader named (since the patch ``leader-found-by-writer``), the unit's supervising leader
        as the directory has them now, as the workflow would have looked them up."""
        if notice.leader is None:
            # Read before the writing transaction: on SQLite that holds the database's lock.
            async with self._lookups() as reading:
                leader = await directory.supervising_leader(
                    reading, notice.petition_id, notice.unit_id
                )
            notice = notice.model_copy(update={"leader": leader})
        async with self._sessions() as session:
            row = await petitions.get(session, notice.petition_id)
            unit = await directory.get_unit(session, notice.unit_id)
            handler_phone = await directory.phone_of(session, notice.handler.person_id)
            if row is None:
                raise LookupError(f"petition {notice.petition_id} has no intake record")
            text = acceptance_text(
                notice,
                row.petitioner_name,
                row.summary,
                unit.name if unit else notice.unit_id,
                handler_phone,
                owns=notice.leader_owns_case
                if notice.leader_owns_case is not None
                else row.owner_id == leader.person_id,
            )
            await petitions.save_document(
                session,
                notice.petition_id,
                kind="acceptance_notice",
                key=f"acceptance-{notice.phase}",
                text=text,
                # Issued on the day of acceptance (its date, its number's year and place in the
                # year's count), however late it is written: a rebuild writes it again.
                now=notice.accepted_at,
            )

    @activity.defn(name=UPLOAD_REPLY)
    async def upload_reply(self, request: UploadRequest) -> str:
        """上传 the reply to the upper-level system; returns its acknowledgement id. Transient
        failures raise (Temporal retries); a refusal is final (non-retryable)."""
        async with self._sessions() as session:
            row = await petitions.get(session, request.petition_id)
            if row is None:
                raise LookupError(f"petition {request.petition_id} has no intake record")
            unit_id = row.unit_id or ""
            unit = await directory.get_unit(session, unit_id)
            record = ReplyUpload(
                petition_id=row.id,
                unit_id=unit_id,
                unit_name=unit.name if unit else unit_id,
                category=row.category,
                channel=row.channel,
                registered_at=row.registered_at,
                accepted_at=row.accepted_at,
                replied_at=request.replied_at,
                reply=request.reply,
                summary=row.summary,
                phase=request.phase,
            )
        try:
            receipt = await self._upstream.upload(record)
        except UpstreamRejected as exc:
            raise ApplicationError(str(exc), type="UpstreamRejected", non_retryable=True) from exc
        return receipt.ack_id

    @activity.defn(name=RECORD_CHAIN_STEP)
    async def record_chain_step(self, record: StepRecord) -> ChainStepWritten:
        """``record_step`` for a step nobody waits for (the chain's; since v12 also the
        registration's and the intake's and aftercare's timed ones), run as a local activity:
        its answer carries the record, for the history to keep it. A chain step with
        ``look_up`` (the patch ``chain-step-one-activity``) is completed first: who holds its
        posts now, named on its entry and its slips (``domain.lifecycle.complete_chain_step``),
        so a step is one local activity, not a lookup and then a record."""
        if record.look_up is not None:
            holder, *told = await self._post_holders(record.state, record.look_up)
            record = complete_chain_step(record, holder, told)
        written = await self.record_step(record)
        return ChainStepWritten(
            record=record, written=written if isinstance(written, StepWritten) else None
        )

    async def _post_holders(self, state: PetitionState, look_up: ChainLookup) -> list[Person]:
        """Who holds ``look_up.role``, then each of ``look_up.told``, in the petition's unit now
        (``find_role_holder``'s answers, in one read)."""
        async with self._lookups() as session:
            return [
                await directory.post_holder(
                    session,
                    RoleLookup(petition_id=state.id, unit_id=state.unit_id or "", role=role),
                )
                for role in (look_up.role, *look_up.told)
            ]

    @activity.defn(name=RECORD_STEP)
    async def record_step(self, record: StepRecord) -> bool | StepWritten:
        """Project one step and put its notices in the outbox, once however often it runs.
        The documents decided with it first: once a reader sees the step, they are there.
        Asked for them (``routes_back``), answers with where its notices go, for the workflow
        to send them; before, it started a delivery workflow per notice itself."""
        for document in record.documents:
            await self.write_acceptance_notice(document)
        kinds = {n.key: n.kind for n in record.notices}
        waits: list[NoticeRoute] = []
        async with self._sessions() as session:
            if record.outboxed and self._notices is not None:
                # The patch deliveries-outboxed: the step and its notices, marked for the
                # notices' process to route and send (activities/outbox.py), in one transaction;
                # no look-up of channels here, on the chain's process.
                now = petitions.utcnow()
                written = await petitions.apply_step(session, record, now, to_route=True)
                if record.signing_watched:
                    # The patch signatures-watched-in-outbox: each 督办单 keeps its 签收 moment
                    # (from the step's time, the workflow's clock), for the notices' process.
                    await self._notices.watch_signatures(session, record, written)
                else:
                    waits = await self._notices.waits(session, record.state.id, kinds)
                await session.commit()
            else:
                written = await petitions.project(session, record, petitions.utcnow())
        for notice in record.notices:
            if notice.key in written:
                # Personal data never goes to the log: the petition number and the slip suffice.
                # The text carries officers' free text (a reply, a reason), which may name the
                # petitioner: never at INFO, which is what runs in production.
                log.info(
                    "notice %s %s → %s (%s)",
                    record.state.id,
                    notice.kind,
                    notice.recipient.person_id,
                    notice.recipient.role,
                )
        for event in (*record.earlier, record.event):  # the steps written together (v3)
            planned_at = record.planned.get(event.seq, event.at)  # records of before: when taken
            observe_step_lag(event.kind, planned_at, written=bool(written))
        if record.outboxed:  # only the 签收 waits: the sends are the notices' process's
            queue = self._notices.task_queue if self._notices else ""
            return StepWritten(written=bool(written), queue=queue, routes=waits)
        if record.routes_back:
            # Every notice of the step, not only those written now: a retry after the commit
            # answers with the same routes, and sends are deduplicated by notice and channel.
            notices = self._notices
            routes = await notices.routes(record.state.id, kinds) if notices and kinds else []
            queue = notices.task_queue if notices else ""
            return StepWritten(written=bool(written), queue=queue, routes=routes)
        if self._notices is not None and record.notices:
            # Every notice of the step, not only those written now: a crash after the commit
            # and before the starts is healed by this activity's retry (a second start is a
            # no-op).
            await self._notices.dispatch(record.state.id, kinds)
        return bool(written)
