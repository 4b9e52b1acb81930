"""周报 and 专报 (issue 13). The 周报 goes to the county secretary and the county head: the
week's petitions beside the week before, each county leader's reception days (when, how many
times, how many people, how many 签批), the AB-post roster, the key petitioners' open cases and
the 专报 of the week. The 专报 lists the petitions marked for the principal leaders."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import report_periods as periods
from domain import report_rules as rules
from domain.policy import BEIJING
from domain.report_summary import WeekFigures
from domain.report_summary import special as special_paragraph
from domain.report_summary import weekly as paragraph
from domain.reports import Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import CHANNEL_LABELS, STAGE_LABELS
from store import receptions
from store.models import LeaderReception, Person, Petition, SpecialReport
from store.report_facts import bounds, facts
from store.report_monthly import Row, breakdown, unit_label, unit_names


async def weekly(session: AsyncSession, period: ReportPeriod) -> Report:
    week = await facts(session, period, ("channel",))
    before = periods.previous(period)
    previous = await facts(session, before, ("channel",))
    held = await receptions.receptions(session, period.start, period.end)
    held_before = await receptions.receptions(session, before.start, before.end)
    names = await unit_names(session)
    key_cases = await _key_petitioners(session, names)
    start, end = bounds(period)
    marked = await receptions.specials(session, start, end)

    def sums(days: list[tuple[LeaderReception, Person]]) -> tuple[int, int, int, int]:
        return (
            len(days),
            sum(r.persons for r, _ in days),
            sum(r.petitions for r, _ in days),
            sum(r.signed_instructions for r, _ in days),
        )

    now_t, before_t = rules.tally(week), rules.tally(previous)
    counts, counts_before = sums(held), sums(held_before)
    overview_rows: list[Row] = [
        [
            "信访总量（批次）",
            now_t.batches,
            before_t.batches,
            rules.change(now_t.batches, before_t.batches),
        ],
        [
            "信访总量（人次）",
            now_t.persons,
            before_t.persons,
            rules.change(now_t.persons, before_t.persons),
        ],
    ]
    for name, now, last in zip(
        ["县领导接访（次）", "接访群众（人次）", "接访登记信访事项（件）", "签批（件）"],
        counts,
        counts_before,
        strict=True,
    ):
        overview_rows.append([name, now, last, rules.change(now, last)])
    overview_rows += [
        ["重点信访人在办事项（件）", len(key_cases), None, None],
        ["专报（件）", len(marked), None, None],
    ]
    per_leader: dict[str, list[int]] = {}
    titles: dict[str, str] = {}
    for reception, person in held:
        row = per_leader.setdefault(person.name, [0, 0, 0, 0])
        titles[person.name] = person.title
        for i, value in enumerate(
            (1, reception.persons, reception.petitions, reception.signed_instructions)
        ):
            row[i] += value
    roster = await receptions.duty_roster(session, period.start, period.end)
    people = await receptions.names(
        session, {d.a_person_id for d in roster} | {d.b_person_id for d in roster}
    )
    tables = [
        ReportTable(
            title="本周概况", columns=["指标", "本周", "上周", "环比(%)"], rows=overview_rows
        ),
        breakdown("本周信访渠道", "渠道", week, lambda f: f.channel, CHANNEL_LABELS),
        ReportTable(
            title="县领导接访情况",
            columns=["领导", "职务", "接访次数", "接访人次", "登记信访事项", "签批件次"],
            rows=[[name, titles[name], *numbers] for name, numbers in per_leader.items()],
            total=["合计", None, *counts],
        ),
        ReportTable(
            title="接访记录",
            columns=["日期", "领导", "接访人次", "登记信访事项", "签批件次", "备注"],
            rows=[
                [f"{r.day:%m月%d日}", p.name, r.persons, r.petitions, r.signed_instructions, r.note]
                for r, p in held
            ],
        ),
        ReportTable(
            title="接访AB岗",
            columns=["日期", "A岗", "B岗"],
            rows=[
                [f"{d.day:%m月%d日}", people.get(d.a_person_id), people.get(d.b_person_id)]
                for d in roster
            ],
        ),
        ReportTable(
            title="重点信访人在办事项",
            columns=["编号", "单位", "摘要", "登记日期", "状态"],
            rows=key_cases,
        ),
        _special_table(marked, names),
    ]
    figures = WeekFigures(
        periods.label(period), now_t, before_t, *counts, len(key_cases), len(marked)
    )
    return Report(
        kind=ReportKind.WEEKLY,
        title=f"信访工作周报（{periods.label(period)}）",
        period=period,
        summary=paragraph(figures),
        tables=tables,
    )


async def _key_petitioners(session: AsyncSession, names: dict[str, str]) -> list[Row]:
    """The 重点信访人's petitions still open, whenever registered: the unstable ones the county
    leaders are told of each week."""
    rows = await session.execute(
        select(
            Petition.id, Petition.unit_id, Petition.summary, Petition.registered_at, Petition.stage
        )
        .where(Petition.key_petitioner.is_(True), Petition.stage.in_(rules.OPEN_STAGES))
        .order_by(Petition.registered_at)
    )
    return [
        [
            r.id,
            unit_label(names, r.unit_id),
            r.summary,
            f"{r.registered_at.astimezone(BEIJING):%Y年%m月%d日}",
            STAGE_LABELS.get(r.stage, r.stage),
        ]
        for r in rows
    ]


SPECIAL_COLUMNS = ["编号", "类型", "责任单位", "摘要", "专报事由", "专报时间", "办理状态"]


def _special_table(
    marked: list[tuple[SpecialReport, str, str | None, str]], names: dict[str, str]
) -> ReportTable:
    return ReportTable(
        title="专报事项",
        columns=SPECIAL_COLUMNS,
        rows=[
            [
                r.petition_id,
                rules.SPECIAL_LABELS.get(r.kind, r.kind),
                unit_label(names, unit),
                summary,
                r.reason,
                f"{r.marked_at.astimezone(BEIJING):%m月%d日%H:%M}",
                STAGE_LABELS.get(stage, stage),
            ]
            for r, summary, unit, stage in marked
        ],
    )


async def special(session: AsyncSession, period: ReportPeriod) -> Report:
    """专报: the petitions marked for the principal leaders within ``period``, by kind."""
    start, end = bounds(period)
    marked = await receptions.specials(session, start, end)
    names = await unit_names(session)
    per_kind = Counter(r.kind for r, *_ in marked)
    counted = {label: per_kind[kind] for kind, label in rules.SPECIAL_LABELS.items()}
    return Report(
        kind=ReportKind.SPECIAL,
        title=f"信访工作专报（{periods.label(period)}）",
        period=period,
        summary=special_paragraph(periods.label(period), counted),
        tables=[
            _special_table(marked, names),
            ReportTable(
                title="按类型",
                columns=["类型", "件数"],
                rows=[[label, n] for label, n in counted.items()],
                total=["合计", sum(counted.values())],
            ),
        ],
    )
