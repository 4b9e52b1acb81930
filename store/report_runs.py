"""The reports' scheduled runs in the read model (issue 13): each run filed once with its inbox
entries and its posts to group robots (``report_receipts``), the posts' outcomes, and a person's
reports inbox. Who receives what is decided here from the directory, at the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.delivery import DeliveryChannel
from domain.report_runs import (
    INBOX,
    posts_to_named_groups,
    posts_to_unit_groups,
    report_text,
)
from domain.reports import Report, ReportKind
from domain.vocabulary import Role, UnitKind
from store.directory import role_holders
from store.models import ChatGroup, ReportReceipt, ReportRun, Unit

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Receipt:
    """One recipient of a run on one channel, before it is filed."""

    channel: str
    recipient_id: str
    name: str
    unit_id: str | None


async def _people(session: AsyncSession, unit_id: str, role: Role) -> list[Receipt]:
    holders = await role_holders(session, unit_id, role.value)
    return [Receipt(INBOX, person.id, person.name, unit_id) for person, _ in holders]


async def _inbox_recipients(session: AsyncSession, report: Report) -> list[Receipt]:
    """The bureau's dispatchers always (the whole report); per report, the people it is for:
    the 巡查's units' handlers (their section), the 日报's and 月报's unit heads, the 周报's and
    专报's county principal leaders."""
    units = list(await session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)))
    bureau = next((u.id for u in units if u.kind == UnitKind.BUREAU.value), None)
    found: list[Receipt] = []
    if bureau is not None:
        # The bureau's own people read the whole report (the bureau has no section).
        found += await _people(session, bureau, Role.BUREAU_DISPATCHER)
        if report.kind in (ReportKind.WEEKLY, ReportKind.SPECIAL):
            found += await _people(session, bureau, Role.COUNTY_PRINCIPAL_LEADER)
    for unit in units:
        if unit.id == bureau:
            continue
        if report.kind is ReportKind.PATROL and unit.id in report.per_unit:
            found += await _people(session, unit.id, Role.HANDLER)
        elif report.kind in (ReportKind.DAILY, ReportKind.MONTHLY):
            found += await _people(session, unit.id, Role.UNIT_HEAD)
    return found


def _robots(group: ChatGroup) -> list[DeliveryChannel]:
    channels = [DeliveryChannel.WECOM] if group.wecom_url else []
    return channels + ([DeliveryChannel.DINGTALK] if group.dingtalk_url else [])


async def _group_recipients(session: AsyncSession, report: Report) -> list[Receipt]:
    """The group robots a run posts to: each unit's group as ``posts_to_unit_groups`` says,
    the named groups (乡镇书记群, 局长群) for the 日报."""
    found: list[Receipt] = []
    for group in await session.scalars(select(ChatGroup).order_by(ChatGroup.id)):
        if group.unit_id is not None:
            wanted = posts_to_unit_groups(report, group.unit_id)
        else:
            wanted = posts_to_named_groups(report.kind)
        if wanted:
            found += [Receipt(c.value, group.id, group.name, group.unit_id) for c in _robots(group)]
    return found


async def file_run(
    session: AsyncSession, run_id: str, report: Report, now: datetime
) -> list[ReportReceipt]:
    """File the run and its receipts once (a retry finds them and adds none); returns its posts
    to group robots not sent yet. Inbox entries are delivered as they are filed."""
    if await session.get(ReportRun, run_id) is None:
        session.add(
            ReportRun(
                id=run_id,
                kind=report.kind.value,
                title=report.title,
                period_start=report.period.start,
                period_end=report.period.end,
                summary=report.summary,
                body=report.model_dump(mode="json"),
                created_at=now,
            )
        )
        for receipt in await _inbox_recipients(session, report) + await _group_recipients(
            session, report
        ):
            inbox = receipt.channel == INBOX
            session.add(
                ReportReceipt(
                    run_id=run_id,
                    channel=receipt.channel,
                    recipient_id=receipt.recipient_id,
                    recipient_name=receipt.name,
                    unit_id=receipt.unit_id,
                    text=report_text(report, receipt.unit_id),
                    status=SENT if inbox else PENDING,
                    attempts=0,
                    delivered_at=now if inbox else None,
                    created_at=now,
                )
            )
        await session.commit()
    rows = await session.scalars(
        select(ReportReceipt)
        .where(
            ReportReceipt.run_id == run_id,
            ReportReceipt.channel != INBOX,
            ReportReceipt.status == PENDING,
        )
        .order_by(ReportReceipt.id)
    )
    return list(rows)


async def record(
    session: AsyncSession, receipt_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    """A post's outcome: sent, failed for good, or still pending after a failed attempt."""
    row = await session.get(ReportReceipt, receipt_id, with_for_update=True)
    if row is None or row.status == SENT:
        return
    row.status = status
    row.attempts += 1
    row.last_error = error
    if status == SENT:
        row.delivered_at = now
    await session.commit()


async def inbox(session: AsyncSession, person_id: str, limit: int = 50) -> list[ReportReceipt]:
    """A person's reports (站内), unread first, then newest first."""
    rows = await session.scalars(
        select(ReportReceipt)
        .where(ReportReceipt.recipient_id == person_id, ReportReceipt.channel == INBOX)
        .order_by(
            ReportReceipt.read_at.is_not(None),
            ReportReceipt.created_at.desc(),
            ReportReceipt.id.desc(),
        )
        .limit(limit)
    )
    return list(rows)


async def receipts(session: AsyncSession, run_id: str | None = None) -> list[ReportReceipt]:
    """Every receipt, or one run's, in the order they were filed (for the bureau and tests)."""
    query = select(ReportReceipt).order_by(ReportReceipt.id)
    if run_id is not None:
        query = query.where(ReportReceipt.run_id == run_id)
    return list(await session.scalars(query))
