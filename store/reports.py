"""The bureau's reports built from the read model (issue 13): one entry, ``build_report``, for
the API, the console and the scheduled runs alike, answering the shape of ``domain.reports``.

The 日报 counts the period's registrations per unit and channel (and the leaders' reception
days, when there were any); the 巡查 lists what needs a person now. The 月报 is in
``store.report_monthly``, the 周报 and the 专报 in ``store.report_weekly``; what each report
counts is written in ``domain.report_rules`` so the definitions are unit-tested once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import BEIJING
from domain.report_rules import OPEN_STAGES
from domain.reports import Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import CHANNEL_LABELS, NOTICE_LABELS, Channel, NoticeKind, Role, Stage
from store import receptions
from store.models import Notice, Petition, Post
from store.report_facts import bounds
from store.report_monthly import UNASSIGNED, Row, monthly, unit_names
from store.report_weekly import special, weekly

__all__ = ["UNASSIGNED", "build_report", "daily", "patrol"]

# The slips a person must sign for (签收), as the 巡查 looks for them unsigned.
SLIPS = (
    NoticeKind.ASSIGNMENT,
    NoticeKind.REMINDER,
    NoticeKind.SUPERVISION,
    NoticeKind.OVERDUE,
    NoticeKind.SIGN_REMINDER,
)


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


PATROL_COLUMNS = ["编号", "单位", "摘要"]
Listed = tuple[str, str | None, str]  # a petition as the 巡查 lists it: number, unit, summary


async def patrol(session: AsyncSession, period: ReportPeriod, now: datetime) -> Report:
    """巡查: what needs a person now: overdue, due within a day, registrations not yet
    assigned, slips not signed for, petitions at a unit that has no handler; and each unit's
    own part of it, for its handler."""
    names = await unit_names(session)

    async def petitions_where(*conditions: ColumnElement[bool]) -> list[Listed]:
        # The three columns listed, not whole rows: a county's overdue list may be long.
        # On the connection, not the ORM session: plain rows, without the ORM's per-row work.
        rows = await (await session.connection()).execute(
            select(Petition.id, Petition.unit_id, Petition.summary)
            .where(*conditions)
            .order_by(Petition.id)
        )
        return [(pid, unit, summary) for pid, unit, summary in rows]

    overdue = await petitions_where(Petition.overdue.is_(True))
    due_soon = await petitions_where(
        Petition.next_due_at >= now,
        Petition.next_due_at < now + timedelta(days=1),
        Petition.stage.in_(OPEN_STAGES),
    )
    unassigned = await petitions_where(Petition.stage == Stage.REGISTERED)
    staffed = select(Post.unit_id).where(Post.role == Role.HANDLER.value)
    no_handler = await petitions_where(
        Petition.unit_id.is_not(None),
        Petition.unit_id.not_in(staffed),
        Petition.stage.in_(OPEN_STAGES - {Stage.REGISTERED}),
    )
    unsigned = await session.execute(
        select(Notice, Petition.unit_id)
        .join(Petition, Petition.id == Notice.petition_id)
        .where(Notice.signed_at.is_(None), Notice.kind.in_([k.value for k in SLIPS]))
        .order_by(Notice.created_at, Notice.id)
    )
    unsigned_rows = [(n, unit) for n, unit in unsigned]

    def listing(rows: list[Listed]) -> list[Row]:
        return [[pid, names.get(unit or "", UNASSIGNED), summary] for pid, unit, summary in rows]

    slip_columns = ["编号", "单位", "单据", "签收人", "发出时间"]

    def slips(rows: list[tuple[Notice, str | None]]) -> list[Row]:
        return [
            [
                n.petition_id,
                names.get(unit or "", UNASSIGNED),
                NOTICE_LABELS.get(NoticeKind(n.kind), n.kind),
                n.recipient_name,
                f"{n.created_at.astimezone(BEIJING):%m月%d日%H:%M}",
            ]
            for n, unit in rows
        ]

    # Each unit's own part, gathered in one pass over each list.
    sections: dict[str, tuple[list[Listed], list[Listed], list[tuple[Notice, str | None]]]] = {}
    for late in overdue:
        if late[1] is not None:
            sections.setdefault(late[1], ([], [], []))[0].append(late)
    for soon in due_soon:
        if soon[1] is not None:
            sections.setdefault(soon[1], ([], [], []))[1].append(soon)
    for slip in unsigned_rows:
        if slip[1] is not None:
            sections.setdefault(slip[1], ([], [], []))[2].append(slip)
    per_unit = {
        unit: [
            ReportTable(title="逾期", columns=PATROL_COLUMNS, rows=listing(lates)),
            ReportTable(title="一日内到期", columns=PATROL_COLUMNS, rows=listing(soons)),
            ReportTable(title="未签收", columns=slip_columns, rows=slips(slips_of_unit)),
        ]
        for unit, (lates, soons, slips_of_unit) in sorted(sections.items())
    }
    at = f"{now.astimezone(BEIJING):%Y年%m月%d日%H时}"
    return Report(
        kind=ReportKind.PATROL,
        title=f"信访系统巡查（{at}）",
        period=period,
        summary=(
            f"{at}巡查：逾期未办结{len(overdue)}件，登记未交办{len(unassigned)}件，"
            f"一日内到期{len(due_soon)}件，单据未签收{len(unsigned_rows)}份，"
            f"无承办人{len(no_handler)}件。"
        ),
        tables=[
            ReportTable(title="逾期未办结", columns=PATROL_COLUMNS, rows=listing(overdue)),
            ReportTable(title="登记未交办", columns=PATROL_COLUMNS, rows=listing(unassigned)),
            ReportTable(title="一日内到期", columns=PATROL_COLUMNS, rows=listing(due_soon)),
            ReportTable(title="单据未签收", columns=slip_columns, rows=slips(unsigned_rows)),
            ReportTable(title="无承办人", columns=PATROL_COLUMNS, rows=listing(no_handler)),
        ],
        per_unit=per_unit,
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
        return await monthly(session, period)
    if kind is ReportKind.SPECIAL:
        return await special(session, period)
    return await patrol(session, period, now)
