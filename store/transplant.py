"""Copying a simulated county's petitions into a read model (issue 13, item 7): every time moved
back by the simulation's offset (Temporal's time-skipping server starts at today and only goes
forward, so a past year is run later and moved back), petition numbers and document numbers
(文号) taken afresh from the target's own counters, so the copy joins whatever is there."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import BEIJING
from store.models import Document, DocumentCounter, Notice, Petition, PetitionCounter, TimelineEvent

PETITION_NUMBER = re.compile(r"XF-\d{4}-\d{6}")
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# What a report or the console reads of a petition; deliveries and audit rows stay behind.
COPIED: tuple[type[Any], ...] = (Petition, TimelineEvent, Notice, Document)
BATCH = 2000


class Renumbering:
    """The target's counters, advanced as the copy takes numbers, and the old number → new."""

    def __init__(self) -> None:
        self.petitions: dict[int, int] = {}
        self.documents: dict[tuple[str, int], int] = defaultdict(int)
        self.numbers: dict[str, str] = {}

    async def load(self, target: AsyncSession) -> None:
        for year, last in await target.execute(select(PetitionCounter.year, PetitionCounter.last)):
            self.petitions[year] = last
        rows = await target.execute(
            select(DocumentCounter.kind, DocumentCounter.year, DocumentCounter.last)
        )
        for kind, year, last in rows:
            self.documents[(kind, year)] = last

    def petition(self, old: str, registered_at: datetime) -> str:
        year = registered_at.astimezone(BEIJING).year
        self.petitions[year] = self.petitions.get(year, 0) + 1
        self.numbers[old] = f"XF-{year}-{self.petitions[year]:06d}"
        return self.numbers[old]

    def serial(self, kind: str, created_at: datetime) -> tuple[int, int]:
        year = created_at.astimezone(BEIJING).year
        self.documents[(kind, year)] += 1
        return year, self.documents[(kind, year)]

    async def save(self, target: AsyncSession) -> None:
        for year, last in self.petitions.items():
            await target.merge(PetitionCounter(year=year, last=last))
        for (kind, year), last in self.documents.items():
            await target.merge(DocumentCounter(kind=kind, year=year, last=last))


def _moved(value: Any, shift: timedelta, numbers: dict[str, str]) -> Any:
    """A column's value moved back in time and renumbered, into JSON too."""
    if isinstance(value, datetime):
        return value - shift
    if isinstance(value, str):
        if ISO_TIME.match(value):
            try:
                return (datetime.fromisoformat(value) - shift).isoformat()
            except ValueError:
                pass
        return PETITION_NUMBER.sub(lambda m: numbers.get(m.group(), m.group()), value)
    if isinstance(value, dict):
        return {k: _moved(v, shift, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, shift, numbers) for v in value]
    return value


async def transplant(source: AsyncSession, target: AsyncSession, shift: timedelta) -> int:
    """Copy the source's petitions (and their timelines, slips and documents) into the target,
    ``shift`` earlier; returns how many petitions."""
    renumber = Renumbering()
    await renumber.load(target)
    order = select(Petition.id, Petition.registered_at).order_by(Petition.registered_at)
    for old, registered_at in await source.execute(order):
        renumber.petition(old, registered_at - shift)
    for model in COPIED:
        table: Table = model.__table__
        keep_ids = model is Petition
        rows = (await source.execute(select(table).order_by(*table.primary_key))).mappings()
        batch: list[dict[str, Any]] = []
        for row in rows:
            moved = {
                name: _moved(value, shift, renumber.numbers)
                for name, value in row.items()
                if keep_ids or name != "id"
            }
            if moved.get("serial") is not None:
                moved["serial_year"], moved["serial"] = renumber.serial(
                    moved["kind"], moved["created_at"]
                )
            batch.append(moved)
            if len(batch) >= BATCH:
                await target.execute(insert(table), batch)
                batch = []
        if batch:
            await target.execute(insert(table), batch)
    await renumber.save(target)
    await target.commit()
    return len(renumber.numbers)
