"""What the bureau's reports count (issue 13), written once: 批次 and 人次, the breakdowns (渠道,
类别, 单位, 程序, 去向层级), 集体访 and 越级访/进京访, the six rates of the county's assessment,
同比/环比 and the per-unit ranking of the 月报.

Pure: the store hands over ``Facts`` (one per group of alike petitions, with how many there
are), so the same definitions count ten petitions in a test and 100,000 grouped by SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, fields
from enum import StrEnum
from typing import TypeVar

from domain.vocabulary import Channel, Closure, Phase, Rating, Stage

# 集体访: a visit of five persons or more (《信访工作条例》: 多人采用走访形式…推选代表不超过5人).
COLLECTIVE_PERSONS = 5


class DestinationLevel(StrEnum):
    """Where a visit went (信访去向层级): the county's own bureau, or above it (越级访)."""

    COUNTY = "county"  # 到县访 (本级)
    CITY = "city"  # 到市访
    PROVINCE = "province"  # 赴省访
    BEIJING = "beijing"  # 进京访: the 零进京 goal counts these


class SpecialKind(StrEnum):
    """Why a petition goes to the county's principal leaders at once (专报)."""

    BEIJING = "beijing"  # 进京访
    THREAT = "threat"  # 扬言
    EXTREME = "extreme"  # 极端行为
    UNSTABLE = "unstable"  # 不稳定


DESTINATION_LABELS: dict[str, str] = {
    DestinationLevel.COUNTY: "到县访",
    DestinationLevel.CITY: "到市访",
    DestinationLevel.PROVINCE: "赴省访",
    DestinationLevel.BEIJING: "进京访",
}
SPECIAL_LABELS: dict[str, str] = {
    SpecialKind.BEIJING: "进京访",
    SpecialKind.THREAT: "扬言",
    SpecialKind.EXTREME: "极端行为",
    SpecialKind.UNSTABLE: "不稳定",
}
# Still to be acted on: what the 周报's key petitioners and the 巡查 look at.
OPEN_STAGES = frozenset({Stage.REGISTERED, Stage.ASSIGNED, Stage.HANDLING, Stage.OVERDUE})
_ABOVE_COUNTY = frozenset(
    {DestinationLevel.CITY, DestinationLevel.PROVINCE, DestinationLevel.BEIJING}
)
_SATISFIED = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})
# Closed after an answer on the matter (not declined, not withdrawn): what 化解 can be said of.
_ANSWERED = frozenset(
    {
        Closure.SATISFIED,
        Closure.BASICALLY_SATISFIED,
        Closure.DISSATISFIED,
        Closure.NOT_REACHED,
        Closure.TERMINATED,
    }
)


@dataclass(frozen=True)
class Facts:
    """What the reports know of a group of alike petitions: ``count`` of them (批次), bringing
    ``persons`` people in all (人次). One petition is a group of one."""

    count: int
    persons: int
    # The fields below are what the petitions of the group share; a count that did not group
    # by one of them (a year's totals need no category) leaves it at its default.
    month: str = ""  # the Beijing month it was registered in, "2026-10"
    unit_id: str | None = None
    channel: str = ""
    category: str = ""
    track: str = ""
    destination: str = DestinationLevel.COUNTY
    collective: bool = False  # 集体访: each of the group brought ≥ COLLECTIVE_PERSONS
    first_time: bool = True  # 初信初访; otherwise a 重复信访
    key_petitioner: bool = False  # 重点信访人
    stage: str = Stage.HANDLING
    phase: str = Phase.HANDLING
    accepted: bool = False
    unaccepted_overdue: bool = False  # 逾期未受理
    completed: bool = False  # 办结 (answered)
    handling_overdue: bool = False  # went overdue in the first round (办理)
    rating: str | None = None
    closure: str | None = None

    @classmethod
    def grouped(cls, count: int, persons: int, shared: Iterable[tuple[str, object]]) -> Facts:
        """A group as the database counted it, ``shared`` naming the fields it grouped by (the
        others keep their defaults). Made without the frozen dataclass' __init__, which sets
        each of the 18 fields through object.__setattr__: a 月报 makes a thousand groups, and
        that was a sixth of its Python time (12 µs a group; 4 µs this way)."""
        made = object.__new__(cls)
        made.__dict__.update(_FACTS_DEFAULTS, count=count, persons=persons)
        made.__dict__.update(shared)
        return made


_FACTS_DEFAULTS = {f.name: f.default for f in fields(Facts) if f.default is not MISSING}


def is_collective(persons: int) -> bool:
    """集体访: five persons or more in one visit."""
    return persons >= COLLECTIVE_PERSONS


def beyond_level(f: Facts) -> bool:
    """越级访: a visit that went above the county (to the city, the province or Beijing)."""
    return f.channel == Channel.VISIT and f.destination in _ABOVE_COUNTY


def to_beijing(f: Facts) -> bool:
    """进京访: a visit to Beijing (the 零进京 goal is none of these)."""
    return f.channel == Channel.VISIT and f.destination == DestinationLevel.BEIJING


@dataclass(frozen=True)
class Tally:
    """批次 (petitions) and 人次 (persons)."""

    batches: int = 0
    persons: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.batches + other.batches, self.persons + other.persons)


def tally(facts: Iterable[Facts], where: Callable[[Facts], bool] = lambda _: True) -> Tally:
    batches = persons = 0
    for f in facts:
        if where(f):
            batches, persons = batches + f.count, persons + f.persons
    return Tally(batches, persons)


K = TypeVar("K")


def by(facts: Iterable[Facts], key: Callable[[Facts], K]) -> dict[K, Tally]:
    """批次 and 人次 per value of ``key`` (channel, category, unit, track, destination)."""
    found: dict[K, list[int]] = {}
    for f in facts:
        counted = found.setdefault(key(f), [0, 0])
        counted[0] += f.count
        counted[1] += f.persons
    return {value: Tally(b, p) for value, (b, p) in found.items()}


@dataclass(frozen=True)
class Rate:
    """A rate of the assessment: how many of how many, and its percentage (one decimal)."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        """None when nothing was there to count (no denominator): no rate, not 0 %."""
        if self.denominator == 0:
            return None
        return round(100 * self.numerator / self.denominator, 1)


def _rate(
    facts: Iterable[Facts], among: Callable[[Facts], bool], counted: Callable[[Facts], bool]
) -> Rate:
    pool = [f for f in facts if among(f)]
    return Rate(sum(f.count for f in pool if counted(f)), sum(f.count for f in pool))


def timely_acceptance(facts: Iterable[Facts]) -> Rate:
    """及时受理率: accepted within the statutory limit, of those whose acceptance fell due
    (accepted, or left unaccepted past the limit)."""
    return _rate(
        facts,
        lambda f: f.accepted or f.unaccepted_overdue,
        lambda f: f.accepted and not f.unaccepted_overdue,
    )


def on_time_completion(facts: Iterable[Facts]) -> Rate:
    """按期办结率: answered without going overdue in the first round, of those answered or
    overdue (what should have been answered by now)."""
    return _rate(
        facts,
        lambda f: f.completed or f.handling_overdue,
        lambda f: f.completed and not f.handling_overdue,
    )


def participation(facts: Iterable[Facts]) -> Rate:
    """参评率: rated by the petitioner at the revisit (回访), of those answered."""
    return _rate(facts, lambda f: f.completed, lambda f: f.rating is not None)


def satisfaction(facts: Iterable[Facts]) -> Rate:
    """满意率: satisfied or basically satisfied (满意、基本满意), of those rated."""
    return _rate(facts, lambda f: f.rating is not None, lambda f: f.rating in _SATISFIED)


def repeat_rate(facts: Iterable[Facts]) -> Rate:
    """重复信访率: petitions that are not the petitioner's first (初信初访), of all."""
    return _rate(facts, lambda _: True, lambda f: not f.first_time)


def first_time_resolution(facts: Iterable[Facts]) -> Rate:
    """一次性化解率: 初信初访 closed on the first round's answer, without 复查/复核, of the 初信初访
    closed on an answer."""
    return _rate(
        facts,
        lambda f: f.first_time and f.stage == Stage.CLOSED and f.closure in _ANSWERED,
        lambda f: f.phase == Phase.HANDLING,
    )


RATES: dict[str, Callable[[Iterable[Facts]], Rate]] = {
    "及时受理率": timely_acceptance,
    "按期办结率": on_time_completion,
    "参评率": participation,
    "满意率": satisfaction,
    "一次性化解率": first_time_resolution,
    "重复信访率": repeat_rate,
}


def change(current: int, previous: int) -> float | None:
    """同比 / 环比: the change in percent (one decimal, negative for a fall); None when the
    earlier period had none (no percentage of nothing)."""
    if previous == 0:
        return None
    return round(100 * (current - previous) / previous, 1)


def change_words(label: str, current: int, previous: int) -> str:
    """ "同比下降23.9%", "环比上升5%", "同比持平", or "去年同期为0" when there is no percentage."""
    pct = change(current, previous)
    if pct is None:
        return f"{label}基数为0"
    if pct == 0:
        return f"{label}持平"
    return f"{label}{'上升' if pct > 0 else '下降'}{number(abs(pct))}%"


def number(value: float) -> str:
    """A number as the reports print it: 12, 23.9 (never 12.0)."""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Ranked:
    rank: int
    unit_id: str | None
    tally: Tally


def ranking(per_unit: dict[str | None, Tally]) -> list[Ranked]:
    """The 月报's per-unit ranking: most petitions first (then most persons); units with the
    same numbers share a rank (1, 2, 2, 4)."""
    ordered = sorted(
        per_unit.items(), key=lambda item: (-item[1].batches, -item[1].persons, item[0] or "~")
    )
    out: list[Ranked] = []
    for position, (unit_id, counted) in enumerate(ordered, start=1):
        same = out and out[-1].tally == counted
        out.append(Ranked(out[-1].rank if same else position, unit_id, counted))
    return out
