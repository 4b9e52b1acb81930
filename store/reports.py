"""The bureau's reports built from the read model (issue 13): one entry, ``build_report``, for
the API, the console and the scheduled runs alike, answering the shape of ``domain.reports``.

The 日报 counts the period's registrations per unit and channel; the 巡查 lists what needs a
person now (overdue, unassigned). What each report counts beyond that is written in
``domain/`` so the definitions are unit-tested once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import BEIJING
from domain.reports import Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import Channel, Stage
from store.models import Petition, Unit

CHANNEL_NAMES = {
    Channel.VISIT: "来访",
    Channel.LETTER: "来信",
    Channel.ONLINE: "网上投诉",
    Channel.PHONE: "来电",
    Channel.LEADER_MAILBOX: "领导信箱",
}
UNASSIGNED = "（未交办）"


def _bounds(period: ReportPeriod) -> tuple[datetime, datetime]:
    """The period's Beijing days as an instant range [start, end)."""
    start = datetime.combine(period.start, time.min, BEIJING)
    end = datetime.combine(period.end + timedelta(days=1), time.min, BEIJING)
    return start, end


async def _unit_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Unit.id, Unit.name).order_by(Unit.sort_order, Unit.id))
    return {unit_id: name for unit_id, name in rows}


async def daily(session: AsyncSession, period: ReportPeriod) -> Report:
    """日报: the period's registrations per unit and channel (来访、来信、网上投诉…)."""
    start, end = _bounds(period)
    rows = await session.execute(
        select(Petition.unit_id, Petition.channel).where(
            Petition.registered_at >= start, Petition.registered_at < end
        )
    )
    counts: Counter[tuple[str | None, str]] = Counter((unit, channel) for unit, channel in rows)
    names = await _unit_names(session)
    channels = list(Channel)
    table_rows: list[list[str | int | float | None]] = []
    for unit_id, name in [*names.items(), (None, UNASSIGNED)]:
        per_channel = [counts[(unit_id, channel.value)] for channel in channels]
        if sum(per_channel):
            table_rows.append([name, *per_channel, sum(per_channel)])
    per_channel_total = [sum(n for (_, c), n in counts.items() if c == ch) for ch in channels]
    total = sum(per_channel_total)
    day = f"{period.start:%Y年%m月%d日}"
    return Report(
        kind=ReportKind.DAILY,
        title=f"信访工作日报（{day}）",
        period=period,
        summary=f"{day}，全县共登记信访事项{total}件。",
        tables=[
            ReportTable(
                title="各单位信访登记情况",
                columns=["单位", *(CHANNEL_NAMES[c] for c in channels), "合计"],
                rows=table_rows,
                total=["合计", *per_channel_total, total],
            )
        ],
    )


async def patrol(session: AsyncSession, period: ReportPeriod, now: datetime) -> Report:
    """巡查: what needs a person now: overdue petitions and registrations not yet assigned."""
    overdue = list(
        await session.scalars(
            select(Petition).where(Petition.overdue.is_(True)).order_by(Petition.id)
        )
    )
    unassigned = list(
        await session.scalars(
            select(Petition).where(Petition.stage == Stage.REGISTERED).order_by(Petition.id)
        )
    )
    names = await _unit_names(session)
    columns = ["编号", "单位", "摘要"]

    def listing(rows: list[Petition]) -> list[list[str | int | float | None]]:
        return [[p.id, names.get(p.unit_id or "", UNASSIGNED), p.summary] for p in rows]

    per_unit: dict[str, list[ReportTable]] = {}
    for petition in overdue:
        if petition.unit_id is not None:
            tables = per_unit.setdefault(
                petition.unit_id, [ReportTable(title="逾期", columns=columns)]
            )
            tables[0].rows.extend(listing([petition]))
    at = f"{now.astimezone(BEIJING):%Y年%m月%d日%H时}"
    return Report(
        kind=ReportKind.PATROL,
        title=f"信访系统巡查（{at}）",
        period=period,
        summary=f"{at}巡查：逾期未办结{len(overdue)}件，登记未交办{len(unassigned)}件。",
        tables=[
            ReportTable(title="逾期未办结", columns=columns, rows=listing(overdue)),
            ReportTable(title="登记未交办", columns=columns, rows=listing(unassigned)),
        ],
        per_unit=per_unit,
    )


async def build_report(
    session: AsyncSession, kind: ReportKind, period: ReportPeriod, now: datetime
) -> Report:
    """The report of ``kind`` over ``period`` as the read model holds it at ``now``."""
    if kind is ReportKind.DAILY:
        return await daily(session, period)
    if kind is ReportKind.PATROL:
        return await patrol(session, period, now)
    raise NotImplementedError(f"report {kind.value} is not built yet (issue 13)")
