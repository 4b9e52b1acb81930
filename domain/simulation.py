"""A county year of petitions, planned (issue 13, item 7): when each arrives and how its life goes
— 交办, 受理 or 不予受理, 办结, 回访 and its rating, 复查 for some of the dissatisfied — drawn
from a seeded random so the same seed plans the same year. ``worker.simulate`` plays the plan on
Temporal's time-skipping server through the real workflow.

The rates are a county's plausible ones, not measured: more petitions in spring (March to May)
and in the week before a public holiday, fewer on days off (letters and online complaints still
come); most cases answered well inside their deadline, a few late enough to climb the chain; some
nine in ten satisfied or basically satisfied."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from domain.calendar import WorkdayCalendar
from domain.policy import BEIJING
from domain.vocabulary import Category, Channel, Rating, Track

T = TypeVar("T")

# Relative volume per month, January first: spring is the high season (春季信访高峰), the
# Spring Festival month and the National Day month are low.
MONTH_WEIGHTS = (1.0, 0.8, 1.3, 1.35, 1.25, 1.0, 0.9, 0.85, 1.0, 0.8, 0.95, 1.05)
DAY_OFF_WEIGHT = 0.25  # letters and online complaints keep coming on days off
BEFORE_HOLIDAY_WEIGHT = 1.4  # the week before a holiday (节前)
BEFORE_HOLIDAY_DAYS = 7
# Where a visit went (去向): most to the county, a few over its head (越级访), rarely Beijing.
DESTINATIONS = {"county": 0.93, "city": 0.045, "province": 0.018, "beijing": 0.007}
# The share of petitioners who come again that the bureau lists as key petitioners (重点信访人).
KEY_AMONG_REPEATS = 0.3
# The year before has this many petitions per one of the year simulated (同比下降 some 7 %).
PREVIOUS_YEAR_FACTOR = 1.08

CHANNELS = {
    Channel.VISIT: 0.32,
    Channel.ONLINE: 0.36,
    Channel.LETTER: 0.14,
    Channel.PHONE: 0.13,
    Channel.LEADER_MAILBOX: 0.05,
}
CATEGORIES = {
    Category.WAGE_DISPUTE: 0.16,
    Category.AGRICULTURE_RURAL: 0.14,
    Category.URBAN_RURAL_CONSTRUCTION: 0.13,
    Category.DEMOLITION_COMPENSATION: 0.09,
    Category.LABOUR_SOCIAL_SECURITY: 0.1,
    Category.CIVIL_ASSISTANCE: 0.09,
    Category.ENVIRONMENT: 0.08,
    Category.LITIGATION: 0.06,
    Category.ACCUSATION: 0.05,
    Category.OTHER: 0.1,
}
SUMMARIES = {
    Category.WAGE_DISPUTE: "反映工地拖欠农民工工资",
    Category.AGRICULTURE_RURAL: "反映土地承包经营权纠纷",
    Category.URBAN_RURAL_CONSTRUCTION: "反映小区道路破损积水",
    Category.DEMOLITION_COMPENSATION: "反映征迁补偿款未到位",
    Category.LABOUR_SOCIAL_SECURITY: "反映养老保险缴费年限认定",
    Category.CIVIL_ASSISTANCE: "申请低保救助",
    Category.ENVIRONMENT: "反映养殖场异味扰民",
    Category.LITIGATION: "对法院判决执行不满",
    Category.ACCUSATION: "反映村干部优亲厚友",
    Category.OTHER: "咨询政策",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀兰志强桂英明华丽娟永刚海燕春梅文军玉兰德胜"


@dataclass(frozen=True)
class Review:
    """复查 asked by a dissatisfied petitioner: days after the rating it is asked, and the
    review body's acceptance, reply and the rating after it."""

    after_days: float
    accept_days: float
    reply_days: float
    rating: Rating


@dataclass(frozen=True)
class PlannedPetition:
    arrival: datetime  # Beijing time in the simulated year
    channel: Channel
    category: Category
    persons: int
    name: str
    phone: str
    unit_id: str  # where it is handled
    assigned_at_intake: bool  # 登记 and 交办 at once; else the bureau assigns it later
    track: Track
    assign_days: float
    declined: bool
    accept_days: float  # from the assignment
    reply_days: float  # from the acceptance
    rating: Rating | None  # None: not reached at the revisit (回访未联系上)
    rate_days: float  # from the reply
    review: Review | None
    # Issue 13's report facts, as the clerk marks them at intake: where the visit went (去向:
    # county, city, province, beijing — 越级访, 进京访), 初信初访, 重点信访人.
    destination_level: str = "county"
    first_time: bool = True
    key_petitioner: bool = False


def _pick(rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def day_weights(
    year: int, calendar: WorkdayCalendar, until: date | None = None
) -> dict[date, float]:
    """How likely a petition arrives on each day of ``year`` (before ``until``), relative to
    the others."""
    first, weights = date(year, 1, 1), {}
    days = (min(date(year + 1, 1, 1), until or date.max) - first).days
    for n in range(days):
        day = first + timedelta(days=n)
        weight = MONTH_WEIGHTS[day.month - 1]
        if not calendar.is_workday(day):
            weight *= DAY_OFF_WEIGHT
        elif any(
            day + timedelta(days=ahead) in calendar.holidays
            for ahead in range(1, BEFORE_HOLIDAY_DAYS + 1)
        ):
            weight *= BEFORE_HOLIDAY_WEIGHT
        weights[day] = weight
    return weights


def _handling(rng: random.Random, track: Track) -> float:
    """Days from acceptance to the reply: mostly well inside the deadline, some 5 % late."""
    limit = 7 if track is Track.SIMPLE else 30
    if rng.random() < 0.05:
        return limit + rng.uniform(1, 20)  # late: escalated on the way (三周工作法)
    return rng.uniform(0.5, limit * 0.8)


def _rating(rng: random.Random) -> Rating | None:
    roll = rng.random()
    if roll < 0.02:
        return None
    if roll < 0.80:
        return Rating.SATISFIED
    return Rating.BASICALLY_SATISFIED if roll < 0.93 else Rating.DISSATISFIED


def plan_year(
    year: int,
    count: int,
    units: list[str],
    calendar: WorkdayCalendar,
    rng: random.Random,
    until: date | None = None,
) -> list[PlannedPetition]:
    """``count`` petitions arriving in ``year`` (before ``until``), in order of arrival."""
    weights = day_weights(year, calendar, until)
    days = rng.choices(list(weights), weights=list(weights.values()), k=count)
    known: list[tuple[str, str]] = []  # petitioners seen, some of whom come again (重复信访)
    key: set[str] = set()  # the phones of key petitioners (重点信访人)
    planned = []
    for day in sorted(days):
        arrival = datetime.combine(day, time(8, 30), BEIJING) + timedelta(
            minutes=rng.uniform(0, 9 * 60)
        )
        first_time = not (known and rng.random() < 0.08)
        if not first_time:
            name, phone = rng.choice(known)
            if rng.random() < KEY_AMONG_REPEATS:
                key.add(phone)
        else:
            name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
            phone = f"139{rng.randrange(10**8):08d}"
            known.append((name, phone))
        roll = rng.random()
        persons = 1 if roll < 0.9 else rng.randint(2, 4) if roll < 0.96 else rng.randint(5, 30)
        track = Track.SIMPLE if rng.random() < 0.3 else Track.GENERAL
        rating = _rating(rng)
        review = None
        if rating is Rating.DISSATISFIED and rng.random() < 0.5:
            again = Rating.SATISFIED if rng.random() < 0.7 else Rating.DISSATISFIED
            review = Review(rng.uniform(1, 20), rng.uniform(0.2, 1), rng.uniform(5, 25), again)
        channel = _pick(rng, CHANNELS)
        destination = _pick(rng, DESTINATIONS) if channel is Channel.VISIT else "county"
        planned.append(
            PlannedPetition(
                arrival=arrival,
                channel=channel,
                category=_pick(rng, CATEGORIES),
                persons=persons,
                name=name,
                phone=phone,
                unit_id=rng.choice(units),
                assigned_at_intake=rng.random() < 0.97,
                track=track,
                assign_days=rng.uniform(0.05, 0.9),
                declined=rng.random() < 0.02,
                accept_days=rng.uniform(0.05, 0.9) if rng.random() < 0.95 else rng.uniform(1, 3),
                reply_days=_handling(rng, track),
                rating=rating,
                rate_days=rng.uniform(0.5, 6),
                review=review,
                destination_level=destination,
                first_time=first_time,
                key_petitioner=phone in key,
            )
        )
    return planned
