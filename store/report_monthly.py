"""月报 (issue 13): the month's petitions for every township and county department, beside the
previous month (环比), the same month of last year (同比) and the year to date; each unit
ranked, and its problems named one by one in its own section. What is counted is defined in
``domain.report_rules``; this module only lays the numbers out in the county's tables."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from domain import report_periods as periods
from domain import report_rules as rules
from domain.report_rules import Facts, Tally
from domain.report_summary import MonthFigures
from domain.report_summary import monthly as monthly_paragraph
from domain.reports import Cell, Report, ReportKind, ReportPeriod, ReportTable
from domain.vocabulary import CATEGORY_LABELS, CHANNEL_LABELS, TRACK_LABELS, Channel, Rating
from store.models import Petition, Unit
from store.report_facts import UNITS, bounds, facts, months_of, within
from store.report_months import series as kept_series

UNASSIGNED = "（未交办）"
Row = list[Cell]


def unit_label(names: dict[str, str], unit_id: str | None) -> str:
    return UNASSIGNED if unit_id is None else names.get(unit_id, unit_id)


def breakdown(
    title: str,
    header: str,
    found: list[Facts],
    key: Callable[[Facts], str],
    labels: dict[str, str],
    share: bool = False,
) -> ReportTable:
    """批次 and 人次 per value of ``key`` in the labels' order, with a 合计 row."""
    counted = rules.by(found, key)
    total = rules.tally(found)
    rows: list[Row] = []
    for value, name in labels.items():
        t = counted.get(value, Tally())
        rows.append([name, t.batches, t.persons, *([_share(t, total)] if share else [])])
    columns = [header, "批次", "人次", *(["占比(%)"] if share else [])]
    end: Row = ["合计", total.batches, total.persons, *([100.0 if total.batches else None] * share)]
    return ReportTable(title=title, columns=columns, rows=rows, total=end)


def _share(part: Tally, whole: Tally) -> float | None:
    return rules.Rate(part.batches, whole.batches).percent


def _visits(f: Facts) -> bool:
    return f.channel == Channel.VISIT


def _collective_visits(f: Facts) -> bool:
    return f.channel == Channel.VISIT and f.collective


INDICATORS: dict[str, tuple[Callable[[Facts], bool], bool]] = {
    # name: (which petitions, count persons rather than batches)
    "信访总量（批次）": (lambda _: True, False),
    "信访总量（人次）": (lambda _: True, True),
    "来访（批次）": (_visits, False),
    "来访（人次）": (_visits, True),
    "集体访（批次）": (_collective_visits, False),
    "越级访（批次）": (rules.beyond_level, False),
    "进京访（批次）": (rules.to_beijing, False),
}


def _count(found: Iterable[Facts], which: Callable[[Facts], bool], persons: bool) -> int:
    t = rules.tally(found, which)
    return t.persons if persons else t.batches


async def monthly(session: AsyncSession, period: ReportPeriod, now: datetime) -> Report:
    """The 月报 of a calendar month (``period`` is one: domain.report_periods.month) as the
    read model holds it at ``now`` (the months closed by then are kept: store.report_months)."""
    to_date = periods.year_to_date(period)
    spans = {
        "month": period,
        "previous": periods.previous(period),
        "last_year": periods.last_year(period),
        "to_date": to_date,
        "to_date_last_year": periods.last_year(to_date),
    }
    # This year and last year to date, and December before a January (its 环比).
    january = [spans["previous"]] if period.start.month == 1 else []
    series = await kept_series(
        session, months_of([to_date, spans["to_date_last_year"], *january]), now
    )
    of = {name: within(series, span) for name, span in spans.items()}
    names = await unit_names(session)
    month = of["month"]
    # The month per unit with what the rates look at; per category and track on their own
    # (some twenty groups, one count for both tables).
    per_unit = await facts(session, period, UNITS)
    kinds = await facts(session, period, ("category", "track"))

    overview_rows: list[Row] = []
    for name, (which, persons) in INDICATORS.items():
        this, before, last = (
            _count(of[k], which, persons) for k in ("month", "previous", "last_year")
        )
        ytd, ytd_last = (_count(of[k], which, persons) for k in ("to_date", "to_date_last_year"))
        overview_rows.append(
            [
                name,
                *(this, before, rules.change(this, before), last, rules.change(this, last)),
                *(ytd, ytd_last, rules.change(ytd, ytd_last)),
            ]
        )
    overview = ReportTable(
        title="总体情况",
        columns=[
            "指标",
            "本月",
            "上月",
            "环比(%)",
            "去年同月",
            "同比(%)",
            "本年累计",
            "去年同期累计",
            "累计同比(%)",
        ],
        rows=overview_rows,
    )
    ranked = rules.ranking(rules.by(per_unit, lambda f: f.unit_id))
    units = _ranking_table(ranked, per_unit, names)
    rates = {name: rate(per_unit) for name, rate in rules.RATES.items()}
    quality = ReportTable(
        title="工作质量",
        columns=["指标", "符合数", "应计数", "比率(%)"],
        rows=[[name, r.numerator, r.denominator, r.percent] for name, r in rates.items()],
    )
    tables = [
        overview,
        units,
        breakdown("按信访渠道", "渠道", month, lambda f: f.channel, CHANNEL_LABELS),
        breakdown(
            "按内容分类",
            "类别",
            kinds,
            lambda f: f.category,
            CATEGORY_LABELS,
            share=True,
        ),
        breakdown(
            "来访去向层级",
            "层级",
            [f for f in month if _visits(f)],
            lambda f: f.destination,
            rules.DESTINATION_LABELS,
        ),
        breakdown(
            "按办理程序",
            "程序",
            kinds,
            lambda f: f.track,
            TRACK_LABELS,
        ),
        quality,
        _by_month(of["to_date"], of["to_date_last_year"], period),
    ]
    figures = MonthFigures(
        to_date_label=periods.label(to_date),
        to_date=rules.tally(of["to_date"]),
        to_date_last_year=rules.tally(of["to_date_last_year"]),
        month=rules.tally(month),
        previous_month=rules.tally(of["previous"]),
        month_last_year=rules.tally(of["last_year"]),
        visits=rules.tally(month, _visits),
        collective=rules.tally(month, _collective_visits).batches,
        beyond_level=rules.tally(month, rules.beyond_level).batches,
        to_beijing=rules.tally(month, rules.to_beijing).batches,
        rates=rates,
        leading_units=[(unit_label(names, r.unit_id), r.tally.batches) for r in ranked[:3]],
    )
    return Report(
        kind=ReportKind.MONTHLY,
        title=f"信访工作月报（{periods.label(period)}）",
        period=period,
        summary=monthly_paragraph(figures),
        tables=tables,
        per_unit=await _problems(session, period, names),
    )


def _ranking_table(
    ranked: list[rules.Ranked], month: list[Facts], names: dict[str, str]
) -> ReportTable:
    """Each unit's month, most petitions first: its numbers and its rates; 合计 is the county."""

    def numbers(found: list[Facts]) -> Row:
        total = rules.tally(found)
        return [
            total.batches,
            total.persons,
            rules.tally(found, _collective_visits).batches,
            rules.tally(found, rules.beyond_level).batches,
            rules.tally(found, rules.to_beijing).batches,
            rules.timely_acceptance(found).percent,
            rules.on_time_completion(found).percent,
            rules.participation(found).percent,
            rules.satisfaction(found).percent,
        ]

    of_unit: dict[str | None, list[Facts]] = {}
    for f in month:
        of_unit.setdefault(f.unit_id, []).append(f)
    rows: list[Row] = [
        [r.rank, unit_label(names, r.unit_id), *numbers(of_unit[r.unit_id])] for r in ranked
    ]
    return ReportTable(
        title="各单位信访情况排名",
        columns=[
            "排名",
            "单位",
            "批次",
            "人次",
            "集体访",
            "越级访",
            "进京访",
            "及时受理率(%)",
            "按期办结率(%)",
            "参评率(%)",
            "满意率(%)",
        ],
        rows=rows,
        total=[None, "全县合计", *numbers(month)],
    )


def _by_month(this_year: list[Facts], last_year: list[Facts], period: ReportPeriod) -> ReportTable:
    """Each month of the year so far beside the same month of last year: the chart's data."""
    rows: list[Row] = []
    for number in range(1, period.end.month + 1):
        key, before = (
            f"{period.end.year:04d}-{number:02d}",
            f"{period.end.year - 1:04d}-{number:02d}",
        )
        now = rules.tally(f for f in this_year if f.month == key)
        last = rules.tally(f for f in last_year if f.month == before)
        rows.append(
            [
                f"{number}月",
                now.batches,
                now.persons,
                last.batches,
                rules.change(now.batches, last.batches),
            ]
        )
    total, total_last = rules.tally(this_year), rules.tally(last_year)
    return ReportTable(
        title="本年各月信访量",
        columns=["月份", "批次", "人次", "去年同月批次", "同比(%)"],
        rows=rows,
        total=[
            "合计",
            total.batches,
            total.persons,
            total_last.batches,
            rules.change(total.batches, total_last.batches),
        ],
    )


async def _problems(
    session: AsyncSession, period: ReportPeriod, names: dict[str, str]
) -> dict[str, list[ReportTable]]:
    """Each unit's problems of the month, one by one (逐一通报): left unaccepted past the limit,
    overdue, or rated dissatisfied."""
    start, end = bounds(period)
    # On the connection, as plain tuples: a county's month may name a few thousand problems,
    # and the ORM's per-row work was a quarter of the 月报's time.
    rows = await (await session.connection()).execute(_problems_query(), dict(start=start, end=end))
    lines: dict[str, list[Row]] = {}
    for pid, unit, summary, unaccepted, late, unhappy in rows.all():
        if unit is not None:
            lines.setdefault(unit, []).append(
                [pid, _PROBLEM_WORDS[unaccepted, late, unhappy], summary]
            )
    # Rows of plain strings, as read: constructed without validating each again (as appending
    # to a table never did), which took as long as the rest of the loop.
    return {
        unit: [ReportTable.model_construct(title="存在问题", columns=[*PROBLEM_COLUMNS], rows=rows)]
        for unit, rows in lines.items()
    }


PROBLEM_COLUMNS = ["编号", "问题", "摘要"]


@functools.cache
def _problems_query() -> Executable:
    """Built once: building it cost a tenth of the problems' time."""
    dissatisfied = Rating.DISSATISFIED.value
    return (
        select(
            Petition.id,
            func.coalesce(Petition.handling_unit_id, Petition.unit_id),
            Petition.summary,
            Petition.unaccepted_overdue,
            Petition.overdue | Petition.handling_overdue,
            func.coalesce(Petition.rating == dissatisfied, False),
        )
        .where(
            Petition.registered_at >= bindparam("start"), Petition.registered_at < bindparam("end")
        )
        .where(
            or_(
                Petition.unaccepted_overdue.is_(True),
                Petition.overdue.is_(True),
                Petition.handling_overdue.is_(True),
                Petition.rating == dissatisfied,
            )
        )
        .order_by(Petition.id)
    )


def _problem_words(flags: tuple[bool, ...]) -> str:
    return "、".join(label for label, flagged in zip(PROBLEMS, flags, strict=True) if flagged)


# A problem row's words for each of its flags' combinations, worked out once (a county's month
# names a few thousand problems, and joining the words row by row was half of their time).
PROBLEMS = ("逾期未受理", "逾期未办结", "群众不满意")
_PROBLEM_WORDS = {
    flags: _problem_words(flags) for flags in itertools.product((False, True), repeat=3)
}


async def unit_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Unit.id, Unit.name).order_by(Unit.sort_order, Unit.id))
    return {unit_id: name for unit_id, name in rows}
