"""The escalation policy (三周工作法 plus the county contact leader) as validated data; the
arithmetic that turns it into a petition's handling plan is in :mod:`domain.plan`.

Durations are in *policy days*. A policy day is ``day_seconds`` long: 86,400 in production,
one second in a demo, so the same four-week chain can be watched in half a minute.

A policy counts either calendar days (自然日) or working days (工作日, ``day_count=WORKING``).
Working days need a :class:`~domain.calendar.WorkdayCalendar` (public holidays and the swapped
working weekends, 调休); without one, or on a compressed demo clock, days are calendar days.

Local rules differ from unit to unit and from category to category: a :class:`PolicyBook` holds
the county default and the overrides, and :meth:`PolicyBook.policy_for` resolves the policy a
new petition starts with.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.calendar import DayCount
from domain.vocabulary import Category, Role, Track

# Working days are counted on Beijing dates (China has one time zone and no daylight saving).
BEIJING = timezone(timedelta(hours=8), "北京时间")
PRODUCTION_DAY_SECONDS = 86400


class ChainLevel(BaseModel):
    """One week of the chain: who is accountable and for how many policy days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1)
    role: Role
    title: str
    days: float = Field(gt=0)


DEFAULT_CHAIN: tuple[ChainLevel, ...] = (
    ChainLevel(level=1, role=Role.HANDLER, title="第一周由信访案件责任人负责办理", days=7),
    ChainLevel(level=2, role=Role.SUPERVISING_LEADER, title="第二周由办案分管领导落实办理", days=7),
    ChainLevel(level=3, role=Role.UNIT_HEAD, title="第三周由单位主要领导加强办理", days=7),
    ChainLevel(
        level=4, role=Role.COUNTY_CONTACT_LEADER, title="第四周由联系点县领导推动办理", days=7
    ),
)


class EscalationPolicy(BaseModel):
    """Policy as data. Each petition carries the copy it started with, so editing the policy
    never changes the clock of a petition already running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "2026.1"
    chain: tuple[ChainLevel, ...] = DEFAULT_CHAIN
    reminder_lead_days: float = Field(default=1, ge=0)
    # 逾期通报 goes to the bureau and to the county leaders of the chain: the unit's contact
    # leader and, while this is set, the county principal leader (县主要领导) too.
    overdue_to_principal_leader: bool = True
    # 简易 within a week, 一般 within a month ("四个一", seed 004), counted from acceptance.
    simple_deadline_days: float = Field(default=7, gt=0)
    general_deadline_days: float = Field(default=30, gt=0)
    day_seconds: float = Field(default=86400, gt=0)
    # Calendar days, or working days (only on a production clock and with a WorkdayCalendar).
    day_count: DayCount = DayCount.CALENDAR
    # Statutory limits (信访条例 2005; the 2022 信访工作条例 keeps them):
    # decide whether to accept and tell the petitioner within 15 days (arts. 21, 22);
    acceptance_notice_days: int = Field(default=15, gt=0)
    # finish within 60 days of acceptance, extendable by at most 30 with the head's approval
    # (art. 33);
    statutory_handling_days: int = Field(default=60, gt=0)
    max_extension_days: int = Field(default=30, ge=0)
    # "四个一" (seed 004): assign within 1 day of registration, accept within 1 day of assignment;
    assign_days: float = Field(default=1, gt=0)
    accept_days: float = Field(default=1, gt=0)
    # the follow-up visit (回访) after the reply;
    revisit_days: float = Field(default=7, gt=0)
    # the reply uploaded (上传) to the upper-level system after it is given (闭环管理);
    upload_days: float = Field(default=1, gt=0)
    # 催办 in aftercare (seed 004: "对快要到期的参评、评价、办理、上传等进行催办"): a reminder
    # before the upload's deadline and after it, and before the revisit window closes unrated.
    # On, as the county works; a book may turn it off.
    aftercare_reminders: bool = True
    # review (复查) asked for within 30 days of the reply and decided within 30 (arts. 34, 35).
    review_request_days: float = Field(default=30, gt=0)
    review_days: float = Field(default=30, gt=0)
    # 签收: a 督办单 not signed for within this many days brings a 催办 to the same person and a
    # copy to the bureau (issue 11): the chain never relies on a message being read.
    sign_for_days: float = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _chain_is_well_formed(self) -> Self:
        if not self.chain:
            raise ValueError("the chain needs at least one level")
        levels = [step.level for step in self.chain]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"chain levels must be 1, 2, 3, … in order, got {levels}")
        shortest = min(step.days for step in self.chain)
        if self.reminder_lead_days >= shortest:
            raise ValueError(
                f"reminder_lead_days ({self.reminder_lead_days}) must be shorter than the "
                f"shortest chain level ({shortest} days), or reminders would precede the level"
            )
        return self

    @model_validator(mode="after")
    def _deadlines_within_statute(self) -> Self:
        for track in Track:
            days = self.deadline_days(track)
            if days > self.statutory_handling_days:
                raise ValueError(
                    f"the {track.value} deadline ({days:g} days) exceeds the statutory handling "
                    f"limit of {self.statutory_handling_days} days (信访条例第三十三条)"
                )
        return self

    def deadline_days(self, track: Track) -> float:
        return self.simple_deadline_days if track == Track.SIMPLE else self.general_deadline_days

    def duration(self, days: float) -> timedelta:
        return timedelta(seconds=days * self.day_seconds)

    def level(self, level: int) -> ChainLevel:
        return self.chain[level - 1]


# --------------------------------------------------------------------------- the policy book


class PolicyOverride(BaseModel):
    """What a unit or a category changes in the default policy; unset fields are inherited.

    ``version`` belongs to the book and ``day_seconds`` to the deployment, so neither is here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain: tuple[ChainLevel, ...] | None = None
    reminder_lead_days: float | None = Field(default=None, ge=0)
    overdue_to_principal_leader: bool | None = None
    simple_deadline_days: float | None = Field(default=None, gt=0)
    general_deadline_days: float | None = Field(default=None, gt=0)
    day_count: DayCount | None = None
    acceptance_notice_days: int | None = Field(default=None, gt=0)
    statutory_handling_days: int | None = Field(default=None, gt=0)
    max_extension_days: int | None = Field(default=None, ge=0)
    assign_days: float | None = Field(default=None, gt=0)
    accept_days: float | None = Field(default=None, gt=0)
    revisit_days: float | None = Field(default=None, gt=0)
    upload_days: float | None = Field(default=None, gt=0)
    aftercare_reminders: bool | None = None
    review_request_days: float | None = Field(default=None, gt=0)
    review_days: float | None = Field(default=None, gt=0)
    sign_for_days: float | None = Field(default=None, gt=0)


class PolicyBook(BaseModel):
    """The county's policies: a default, overridden per content category and then per unit.

    Every combination is validated when the book is loaded, so a bad override fails at start-up
    rather than on the petition that first meets it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    default: EscalationPolicy = EscalationPolicy()
    units: dict[str, PolicyOverride] = Field(default_factory=dict)
    categories: dict[str, PolicyOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_combination_is_valid(self) -> Self:
        known = {c.value for c in Category}
        unknown = sorted(set(self.categories) - known)
        if unknown:
            raise ValueError(f"unknown categories {unknown}; expected some of {sorted(known)}")
        for category in [None, *self.categories]:
            for unit in [None, *self.units]:
                try:
                    self._resolve(unit, category, self.default.day_seconds)
                except ValidationError as exc:
                    where = ", ".join(
                        f"{k} {v}" for k, v in (("category", category), ("unit", unit)) if v
                    )
                    raise ValueError(
                        f"the policy for {where or 'the default'} is invalid: {exc}"
                    ) from exc
        return self

    def policy_for(self, unit_id: str, category: str, day_seconds: float) -> EscalationPolicy:
        """default → category override → unit override (the unit wins), re-validated.

        The version names what was applied, e.g. "2026.1+category:wage_dispute+unit:renshe".
        """
        return self._resolve(unit_id, category, day_seconds)

    def _resolve(
        self, unit_id: str | None, category: str | None, day_seconds: float
    ) -> EscalationPolicy:
        data = self.default.model_dump()
        applied: list[str] = []
        for label, key, overrides in (
            ("category", category, self.categories),
            ("unit", unit_id, self.units),
        ):
            override = overrides.get(key) if key is not None else None
            if override is not None:
                data.update(override.model_dump(exclude_none=True))
                applied.append(f"{label}:{key}")
        data["version"] = "+".join([self.version, *applied])
        data["day_seconds"] = day_seconds
        return EscalationPolicy.model_validate(data)


def load_policy_book(text: str) -> PolicyBook:
    """Parse and validate a policy book from its YAML text (the caller reads the file)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("a policy book is a YAML mapping with version, default, units, categories")
    return PolicyBook.model_validate(data)
