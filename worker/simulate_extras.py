"""What a simulated county year holds beside its petitions (issue 13, item 7), written once the
year's petitions are in the read model, whichever mode played them: the county leaders'
reception days (领导接访) that the 周报 counts, and the 专报 the bureau marks — every 进京访, and
the collective visits of key petitioners (不稳定) — through ``store.receptions.mark_special``,
which writes each one's notices to the principal leaders with the case's timeline as it stood."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.calendar import china_calendar
from domain.policy import BEIJING
from domain.report_rules import COLLECTIVE_PERSONS, SpecialKind
from domain.vocabulary import Role
from store import receptions
from store.models import LeaderReception, Petition, Post, SpecialReport

RECORDED_BY = "demo-bureau"  # the bureau's dispatcher (王建国), who records both
RECEPTION_DAY = 15  # each county leader receives once a month, the first working day from it
REASONS = {
    SpecialKind.BEIJING: "赴京上访，已由驻京工作组接回，正在稳控化解",
    SpecialKind.UNSTABLE: "重点信访人组织集体访，存在不稳定因素",
}
MARKED_AFTER = timedelta(hours=2)  # the bureau marks it the morning it hears of it


async def add_extras(
    target: async_sessionmaker[Any], years: list[int], until: date, rng: random.Random
) -> tuple[int, int]:
    """The reception days of ``years`` up to ``until`` and the 专报 of those years' petitions
    not marked yet; returns how many of each."""
    calendar = china_calendar(range(years[0], years[-1] + 2))
    async with target() as session:
        leaders = sorted(
            set(
                await session.scalars(
                    select(Post.person_id).where(
                        Post.role.in_(
                            [Role.COUNTY_CONTACT_LEADER.value, Role.COUNTY_PRINCIPAL_LEADER.value]
                        )
                    )
                )
            )
        )
        days = []
        for year in years:
            for month in range(1, 13):
                day = date(year, month, RECEPTION_DAY)
                while not calendar.is_workday(day):
                    day += timedelta(days=1)
                if day < until:
                    days.append(day)
        for day in days:
            for leader in leaders:
                persons = rng.randint(3, 14)
                registered = rng.randint(1, max(1, persons // 2))
                session.add(
                    LeaderReception(
                        leader_id=leader,
                        day=day,
                        persons=persons,
                        petitions=registered,
                        signed_instructions=rng.randint(0, registered),
                        note="县领导接访日",
                        recorded_by=RECORDED_BY,
                        recorded_at=datetime.combine(day, time(17, 30), BEIJING),
                    )
                )
        await session.commit()
        first = datetime.combine(date(years[0], 1, 1), time(0), BEIJING)
        end = datetime.combine(date(years[-1] + 1, 1, 1), time(0), BEIJING)
        marked = select(SpecialReport.petition_id)
        to_mark = await session.execute(
            select(Petition.id, Petition.registered_at, Petition.destination_level)
            .where(
                Petition.registered_at >= first,
                Petition.registered_at < end,
                Petition.id.not_in(marked),
                or_(
                    Petition.destination_level == "beijing",
                    and_(Petition.key_petitioner, Petition.persons >= COLLECTIVE_PERSONS),
                ),
            )
            .order_by(Petition.registered_at)
        )
        specials = list(to_mark)
    for pid, registered_at, destination in specials:
        kind = SpecialKind.BEIJING if destination == "beijing" else SpecialKind.UNSTABLE
        at = registered_at + MARKED_AFTER
        async with target() as session:
            await receptions.mark_special(
                session, pid, kind.value, REASONS[kind], RECORDED_BY, at, as_of=at
            )
    return len(days) * len(leaders), len(specials)
