"""What the reports count (issue 13): each definition on a handful of petitions whose answer
is known by hand, the periods of 同比 and 环比, and the paragraph's numbers."""

from __future__ import annotations

from datetime import date

import pytest

from domain import report_periods as periods
from domain import report_rules as rules
from domain.report_rules import DestinationLevel, Facts, Rate, Tally
from domain.report_summary import MonthFigures, monthly, numbers_in


def petition(**given: object) -> Facts:
    base: dict[str, object] = {
        "count": 1,
        "persons": 1,
        "month": "2026-10",
        "unit_id": "dongguan",
        "channel": "visit",
        "category": "other",
        "track": "general",
    }
    return Facts(**{**base, **given})  # type: ignore[arg-type]


def test_batches_and_persons_count_groups_by_their_size() -> None:
    found = [petition(count=2, persons=3), petition(channel="letter"), petition(unit_id=None)]
    assert rules.tally(found) == Tally(batches=4, persons=5)
    assert rules.by(found, lambda f: f.channel) == {"visit": Tally(3, 4), "letter": Tally(1, 1)}
    assert rules.by(found, lambda f: f.unit_id)[None] == Tally(1, 1)


def test_collective_and_beyond_level_visits() -> None:
    assert not rules.is_collective(4) and rules.is_collective(5)
    beijing = petition(destination=DestinationLevel.BEIJING)
    city = petition(destination=DestinationLevel.CITY)
    # A letter addressed to Beijing is no 进京访: only visits go somewhere.
    letter = petition(channel="letter", destination=DestinationLevel.BEIJING)
    assert rules.to_beijing(beijing) and rules.beyond_level(beijing)
    assert rules.beyond_level(city) and not rules.to_beijing(city)
    assert not rules.beyond_level(letter) and not rules.beyond_level(petition())


def test_the_six_rates() -> None:
    found = [
        # accepted in time, answered in time, rated satisfied, first petition, closed in round 1
        petition(
            accepted=True, completed=True, rating="satisfied", stage="closed", closure="satisfied"
        ),
        # accepted late, answered late, rated dissatisfied, a repeat petition
        petition(
            accepted=True,
            unaccepted_overdue=True,
            completed=True,
            handling_overdue=True,
            rating="dissatisfied",
            first_time=False,
        ),
        # first petition closed after a review (复查): not resolved at once
        petition(
            accepted=True, completed=True, stage="closed", closure="terminated", phase="review"
        ),
        # still open, overdue
        petition(accepted=True, handling_overdue=True),
        # not accepted yet, not due
        petition(),
    ]
    assert rules.timely_acceptance(found) == Rate(3, 4)
    assert rules.on_time_completion(found) == Rate(2, 4)
    assert rules.participation(found) == Rate(2, 3)
    assert rules.satisfaction(found) == Rate(1, 2)
    assert rules.repeat_rate(found) == Rate(1, 5)
    assert rules.first_time_resolution(found) == Rate(1, 2)
    assert Rate(1, 3).percent == 33.3 and Rate(0, 0).percent is None


def test_change_and_its_words() -> None:
    assert rules.change(76, 100) == -24.0 and rules.change(5, 4) == 25.0
    assert rules.change(3, 0) is None
    assert rules.change_words("同比", 76, 100) == "同比下降24%"
    assert rules.change_words("环比", 5, 4) == "环比上升25%"
    assert rules.change_words("同比", 4, 4) == "同比持平"


def test_ranking_shares_ranks_on_equal_numbers() -> None:
    ranked = rules.ranking(
        {"a": Tally(3, 3), "b": Tally(5, 9), "c": Tally(3, 3), None: Tally(1, 1)}
    )
    assert [(r.rank, r.unit_id) for r in ranked] == [(1, "b"), (2, "a"), (2, "c"), (4, None)]


def test_periods_for_same_period_last_year_and_the_one_before() -> None:
    october = periods.month(2026, 10)
    assert (october.start, october.end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert periods.previous(october) == periods.month(2026, 9)
    assert periods.previous(periods.month(2026, 1)) == periods.month(2025, 12)
    assert periods.last_year(periods.month(2028, 2)).end == date(2027, 2, 28)
    assert periods.year_to_date(october).start == date(2026, 1, 1)
    assert periods.label(periods.year_to_date(october)) == "2026年1-10月"
    assert periods.label(october) == "2026年10月"
    week = periods.week(2026, 43)
    assert week.start.weekday() == 0 and periods.previous(week).end == date(2026, 10, 18)
    assert periods.months(periods.year_to_date(october))[-1] == "2026-10"
    with pytest.raises(periods.BadPeriod):
        periods.month(2026, 13)
    with pytest.raises(periods.BadPeriod):
        periods.week(2026, 54)


def test_the_paragraph_says_only_numbers_it_was_given() -> None:
    figures = MonthFigures(
        to_date_label="2026年1-10月",
        to_date=Tally(120, 150),
        to_date_last_year=Tally(160, 190),
        month=Tally(12, 20),
        previous_month=Tally(10, 11),
        month_last_year=Tally(15, 18),
        visits=Tally(6, 14),
        collective=1,
        beyond_level=2,
        to_beijing=0,
        rates={"按期办结率": Rate(9, 10), "满意率": Rate(0, 0)},
        leading_units=[("东关镇人民政府", 7)],
    )
    text = monthly(figures)
    assert text.startswith("2026年1-10月，全县共受理信访事项120件150人次，同比下降25%。")
    assert "环比上升20%" in text and "同比下降20%" in text and "实现“零进京”" in text
    assert "按期办结率90%" in text and "满意率" not in text  # no rate of nothing
    given = {120, 150, 25, 12, 20, 6, 14, 1, 2, 90, 7}
    assert set(numbers_in(text, ["2026年1-10月"])) <= given


def test_a_group_as_the_database_counted_it_is_the_facts_of_its_fields() -> None:
    made = Facts.grouped(3, 7, [("channel", "visit"), ("collective", True), ("month", "2026-10")])
    assert made == Facts(count=3, persons=7, channel="visit", collective=True, month="2026-10")
    assert made.destination == "county" and made.rating is None and made.first_time is True
    assert hash(made) == hash(Facts(3, 7, "2026-10", channel="visit", collective=True))
