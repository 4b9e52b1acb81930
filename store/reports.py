"""The bureau's reports built from the read model (issue 13): one entry, ``build_report``, for
the API, the console and the scheduled runs alike, answering the shape of ``domain.reports``.

The 日报 counts the period's registrations per unit and channel (and the leaders' reception
days, when there were any). The 月报 is in ``store.report_monthly``, the 周报 and the 专报 in
``store.report_weekly``, the 巡查 (what needs a person now) in ``store.report_patrol``; what
each report counts is written in ``domain.report_rules`` so the definitions are unit-tested once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports import Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import CHANNEL_LABELS, Channel
from store import receptions
from store.models import Petition
from store.report_facts import bounds
from store.report_monthly import UNASSIGNED, Row, monthly, unit_names
from store.report_patrol import patrol
from store.report_weekly import special, weekly

__all__ = ["UNASSIGNED", "build_report", "daily", "patrol"]


async def daily(session: AsyncSession, period: ReportPeriod) -> Report:
    """日报: the period's registrations per unit and channel (来访、来信、网上投诉…), and the
    leaders' reception days (领导接访) when there were any."""
    start, end = bounds(period)
    rows = await session.execute(
        select(Petition.unit_id, Petition.channel).where(
            Petition.registered_at >= start, Petition.registered_at < end
        )
    )
    counts: Counter[tuple[str | None, str]] = Counter((unit, channel) for unit, channel in rows)
    names = await unit_names(session)
    channels = list(Channel)
    table_rows: list[Row] = []
    for unit_id, name in [*names.items(), (None, UNASSIGNED)]:
        per_channel = [counts[(unit_id, channel.value)] for channel in channels]
        if sum(per_channel):
            table_rows.append([name, *per_channel, sum(per_channel)])
    per_channel_total = [sum(n for (_, c), n in counts.items() if c == ch) for ch in channels]
    total = sum(per_channel_total)
    day = f"{period.start:%Y年%m月%d日}"
    tables = [
        ReportTable(
            title="各单位信访登记情况",
            columns=["单位", *(CHANNEL_LABELS[c] for c in channels), "合计"],
            rows=table_rows,
            total=["合计", *per_channel_total, total],
        )
    ]
    summary = f"{day}，全县共登记信访事项{total}件。"
    held = await receptions.receptions(session, period.start, period.end)
    if held:
        received = sum(r.persons for r, _ in held)
        tables.append(
            ReportTable(
                title="领导接访",
                columns=["领导", "职务", "接访人次", "登记信访事项", "签批件次"],
                rows=[
                    [p.name, p.title, r.persons, r.petitions, r.signed_instructions]
                    for r, p in held
                ],
                total=[
                    "合计",
                    None,
                    received,
                    sum(r.petitions for r, _ in held),
                    sum(r.signed_instructions for r, _ in held),
                ],
            )
        )
        summary += f"领导接访群众{received}人次。"
    return Report(
        kind=ReportKind.DAILY,
        title=f"信访工作日报（{day}）",
        period=period,
        summary=summary,
        tables=tables,
    )


async def build_report(
    session: AsyncSession, kind: ReportKind, period: ReportPeriod, now: datetime
) -> Report:
    """The report of ``kind`` over ``period`` as the read model holds it at ``now``. The 月报
    wants a calendar month (``domain.report_periods.month``)."""
    if kind is ReportKind.DAILY:
        return await daily(session, period)
    if kind is ReportKind.WEEKLY:
        return await weekly(session, period)
    if kind is ReportKind.MONTHLY:
        return await monthly(session, period, now)
    if kind is ReportKind.SPECIAL:
        return await special(session, period)
    return await patrol(session, period, now)
