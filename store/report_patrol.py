"""巡查 (issue 13): what needs a person now, twice a day: overdue, due within a day,
registrations not yet assigned, slips not signed for, petitions at a unit that has no handler;
and each unit's own part of it, for its handler.

Each list is a digest, not a dump: its ``PATROL_LISTED`` most urgent rows, county-wide and in
each unit's section, and how many there are in all (``ReportTable.count``; the page, the
workbook and the robot's message say how many more). A county with 10,000 overdue cases gets
a 50-row list and the number 10,000, not a 10,000-row message; the database ranks and counts
them (a window over each unit's rows, a LIMIT for the county's) so only the listed rows and
their columns come back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Executable

from domain.policy import BEIJING
from domain.report_rules import OPEN_STAGES
from domain.reports import Cell, Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import NOTICE_LABELS, NoticeKind, Role, Stage
from store.models import Notice, Petition, Post, Unit
from store.report_monthly import UNASSIGNED, unit_names

# How many rows each list of the 巡查 shows, county-wide and in each unit's section: the most
# urgent first; the rest are counted and named ("另有 K 件"), not listed.
PATROL_LISTED = 50

# The slips a person must sign for (签收), as the 巡查 looks for them unsigned.
SLIPS = (
    NoticeKind.ASSIGNMENT,
    NoticeKind.REMINDER,
    NoticeKind.SUPERVISION,
    NoticeKind.OVERDUE,
    NoticeKind.SIGN_REMINDER,
)
PATROL_COLUMNS = ["编号", "单位", "摘要"]
SLIP_COLUMNS = ["编号", "单位", "单据", "签收人", "发出时间"]
Row = list[Cell]
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass
class Found:
    """One list of the 巡查: its first rows county-wide and per unit, and how many in all."""

    rows: list[tuple[str | None, list[Any]]] = field(default_factory=list)  # (unit, columns)
    total: int = 0
    of_unit: dict[str, tuple[list[list[Any]], int]] = field(default_factory=dict)


async def _ranked(
    connection: AsyncConnection,
    base: Select[Any],
    unit: Column,
    urgency: Sequence[Column],
    shown: Callable[[list[Any]], Executable],
) -> Found:
    """The rows of ``base`` (whose one column is the row's key) most urgent first (by
    ``urgency``): the first PATROL_LISTED county-wide and within each ``unit``, with the
    columns ``shown(keys)`` selects (the key first) for those rows only; and how many."""
    ranked = base.add_columns(
        unit.label("unit"),
        func.row_number().over(partition_by=unit, order_by=urgency).label("in_unit"),
        func.count().over(partition_by=unit).label("of_unit"),
    ).subquery()
    of_units = (
        await connection.execute(select(ranked).where(ranked.c.in_unit <= PATROL_LISTED))
    ).all()
    # County-wide: a LIMIT the index answers, not a second ranking of every row.
    first = (
        await connection.execute(base.add_columns(unit).order_by(*urgency).limit(PATROL_LISTED))
    ).all()
    keys = list({row[0] for row in [*of_units, *first]})
    # The listed rows' own columns asked for by key, apart: joined into the ranking, the
    # planner expects thousands of rows and reads the whole table for them.
    columns = {key: rest for key, *rest in await connection.execute(shown(keys))} if keys else {}
    found = Found(rows=[(owner, [key, *columns[key]]) for key, owner in first])
    for key, owner, in_unit, of_unit in sorted(of_units, key=lambda r: (r[1] or "", r[2])):
        found.total += of_unit if in_unit == 1 else 0  # each unit's first row has its count
        if owner is not None:
            found.of_unit.setdefault(owner, ([], of_unit))[0].append([key, *columns[key]])
    return found


async def _petitions(
    connection: AsyncConnection, *conditions: ColumnElement[bool], urgency: str
) -> Found:
    """Petitions meeting ``conditions``, most urgent first: the earliest ``urgency`` (the
    deadline nearest, or the longest waiting), then the number."""
    order: list[Column] = [getattr(Petition, urgency), Petition.id]
    return await _ranked(
        connection,
        select(Petition.id).where(*conditions),
        Petition.unit_id,
        order,
        lambda keys: select(Petition.id, Petition.summary).where(Petition.id.in_(keys)),
    )


async def patrol(session: AsyncSession, period: ReportPeriod, now: datetime) -> Report:
    """巡查: what needs a person now, and each unit's own part of it, for its handler."""
    names = await unit_names(session)
    connection = await session.connection()
    # Overdue longest waiting first; due soon by the deadline; unassigned by arrival.
    overdue = await _petitions(connection, Petition.overdue.is_(True), urgency="registered_at")
    due_soon = await _petitions(
        connection,
        Petition.next_due_at >= now,
        Petition.next_due_at < now + timedelta(days=1),
        Petition.stage.in_(OPEN_STAGES),
        urgency="next_due_at",
    )
    unassigned = await _petitions(
        connection, Petition.stage == Stage.REGISTERED, urgency="registered_at"
    )
    # The units without a handler are few, named first: asking for their petitions by unit
    # (an index) costs a fraction of matching every open petition against the staffed units.
    staffed = select(Post.unit_id).where(Post.role == Role.HANDLER.value)
    unstaffed = list(await session.scalars(select(Unit.id).where(Unit.id.not_in(staffed))))
    no_handler = Found()
    if unstaffed:
        no_handler = await _petitions(
            connection,
            Petition.unit_id.in_(unstaffed),
            Petition.stage.in_(OPEN_STAGES - {Stage.REGISTERED}),
            urgency="registered_at",
        )
    unsigned = await _ranked(
        connection,
        select(Notice.id)
        .join(Petition, Petition.id == Notice.petition_id)
        .where(Notice.signed_at.is_(None), Notice.kind.in_([k.value for k in SLIPS])),
        Petition.unit_id,
        [Notice.created_at, Notice.id],
        lambda keys: select(
            Notice.id, Notice.petition_id, Notice.kind, Notice.recipient_name, Notice.created_at
        ).where(Notice.id.in_(keys)),
    )

    def listing(unit: str | None, row: list[Any]) -> Row:
        pid, summary = row
        return [pid, names.get(unit or "", UNASSIGNED), summary]

    def slip(unit: str | None, row: list[Any]) -> Row:
        _, pid, kind, recipient, created = row
        label = NOTICE_LABELS.get(NoticeKind(kind), kind)
        return [pid, names.get(unit or "", UNASSIGNED), label, recipient, _clock(created)]

    def table(title: str, columns: list[str], found: Found, shown: Any) -> ReportTable:
        rows = [shown(unit, row) for unit, row in found.rows]
        return ReportTable(title=title, columns=columns, rows=rows, count=found.total)

    def section(title: str, columns: list[str], found: Found, unit: str, shown: Any) -> ReportTable:
        rows, count = found.of_unit.get(unit, ([], 0))
        return ReportTable(
            title=title, columns=columns, rows=[shown(unit, r) for r in rows], count=count
        )

    with_own_part = sorted({*overdue.of_unit, *due_soon.of_unit, *unsigned.of_unit})
    per_unit = {
        unit: [
            section("逾期", PATROL_COLUMNS, overdue, unit, listing),
            section("一日内到期", PATROL_COLUMNS, due_soon, unit, listing),
            section("未签收", SLIP_COLUMNS, unsigned, unit, slip),
        ]
        for unit in with_own_part
    }
    at = f"{now.astimezone(BEIJING):%Y年%m月%d日%H时}"
    return Report(
        kind=ReportKind.PATROL,
        title=f"信访系统巡查（{at}）",
        period=period,
        summary=(
            f"{at}巡查：逾期未办结{overdue.total}件，登记未交办{unassigned.total}件，"
            f"一日内到期{due_soon.total}件，单据未签收{unsigned.total}份，"
            f"无承办人{no_handler.total}件。"
        ),
        tables=[
            table("逾期未办结", PATROL_COLUMNS, overdue, listing),
            table("登记未交办", PATROL_COLUMNS, unassigned, listing),
            table("一日内到期", PATROL_COLUMNS, due_soon, listing),
            table("单据未签收", SLIP_COLUMNS, unsigned, slip),
            table("无承办人", PATROL_COLUMNS, no_handler, listing),
        ],
        per_unit=per_unit,
    )


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(BEIJING):%m月%d日%H:%M}"
