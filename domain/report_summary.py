"""The reports' summary paragraphs in the seeds' style ("1-10月，全县共受理信访事项X件，同比下降
Y%…"), written from the numbers by templates and rules, no language model: every number in a
paragraph is one of the report's tables (``numbers_in`` finds them for the test that says so).
A period's own label (2026年1-10月) is the period, not a number of the tables."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from domain.report_rules import Rate, Tally, change_words, number

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def numbers_in(text: str, leave_out: Iterable[str] = ()) -> list[float]:
    """The numbers written in ``text``, once the period labels in ``leave_out`` are taken out."""
    for words in leave_out:
        text = text.replace(words, "")
    return [float(found) for found in _NUMBER.findall(text)]


def _rates(rates: dict[str, Rate]) -> str:
    said = [f"{name}{number(r.percent)}%" for name, r in rates.items() if r.percent is not None]
    return "，".join(said)


@dataclass(frozen=True)
class MonthFigures:
    """What the 月报's paragraph says, each figure also in one of its tables."""

    to_date_label: str  # 2026年1-10月
    to_date: Tally
    to_date_last_year: Tally
    month: Tally
    previous_month: Tally
    month_last_year: Tally
    visits: Tally  # 来访
    collective: int  # 集体访 批次
    beyond_level: int  # 越级访 批次
    to_beijing: int  # 进京访 批次
    rates: dict[str, Rate]
    leading_units: list[tuple[str, int]]  # the ranking's first units: (name, 批次)


def monthly(f: MonthFigures) -> str:
    text = (
        f"{f.to_date_label}，全县共受理信访事项{f.to_date.batches}件{f.to_date.persons}人次，"
        f"{change_words('同比', f.to_date.batches, f.to_date_last_year.batches)}。"
        f"其中本月受理{f.month.batches}件{f.month.persons}人次，"
        f"{change_words('环比', f.month.batches, f.previous_month.batches)}，"
        f"{change_words('同比', f.month.batches, f.month_last_year.batches)}。"
        f"本月来访{f.visits.batches}批{f.visits.persons}人次，其中集体访{f.collective}批，"
        f"越级访{f.beyond_level}批，"
    )
    text += f"进京访{f.to_beijing}批。" if f.to_beijing else "实现“零进京”。"
    rates = _rates(f.rates)
    if rates:
        text += f"本月{rates}。"
    if f.leading_units:
        named = "、".join(f"{name}（{count}件）" for name, count in f.leading_units)
        text += f"信访量居前的单位：{named}。"
    return text


@dataclass(frozen=True)
class WeekFigures:
    label: str  # 2026年10月19日至10月25日
    week: Tally
    previous_week: Tally
    receptions: int  # 县领导接访次数
    received: int  # 接访人次
    registered: int  # 接访登记信访事项
    signed_instructions: int  # 签批件次
    key_petitioners: int  # 重点信访人在办事项
    special: int  # 专报


def weekly(f: WeekFigures) -> str:
    return (
        f"{f.label}，全县共受理信访事项{f.week.batches}件{f.week.persons}人次，"
        f"{change_words('环比', f.week.batches, f.previous_week.batches)}。"
        f"县领导接访{f.receptions}次，接待群众{f.received}人次，登记信访事项{f.registered}件，"
        f"签批{f.signed_instructions}件。重点信访人在办事项{f.key_petitioners}件，"
        f"专报{f.special}件。"
    )


def special(label: str, per_kind: dict[str, int]) -> str:
    """The 专报's paragraph: how many, and of which kind (进京访、扬言…)."""
    total = sum(per_kind.values())
    if not total:
        return f"{label}，无专报信访事项。"
    kinds = "、".join(f"{name}{count}件" for name, count in per_kind.items() if count)
    return f"{label}，专报信访事项{total}件，其中{kinds}。"
