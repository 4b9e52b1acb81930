"""The read model's databases in tests: a template migrated once per session and copied for each
test, petition numbers in a block of each test's own, and intake records written as the API
writes them."""

from __future__ import annotations

import itertools
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from api.auth import prepare_accounts
from core.database import prepare_store
from core.settings import Settings
from store import petitions
from store.db import dispose, make_engine, make_sessionmaker
from store.models import Notice, PetitionCounter
from tests.helpers.postgres import new_database
from tests.helpers.settings import make_settings


class Templates:
    """The store's schema migrated once per session, with the demo county loaded, into a
    template each test copies: a SQLite file copied with SQLite's backup API, and a PostgreSQL
    database that ``CREATE DATABASE … TEMPLATE`` copies inside the server. Each is made on first
    use, so a run without PostgreSQL tests starts no cluster."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    async def sqlite_copy(self, target: Path) -> str:
        """A copy of the SQLite template at ``target``; returns its URL."""
        if self._sqlite is None:
            template = self.folder / "template.db"
            await _migrate(self.folder, f"sqlite+aiosqlite:///{template}")
            self._sqlite = template
        target.parent.mkdir(parents=True, exist_ok=True)
        # The backup API gives a consistent copy whatever the write-ahead log still holds.
        source, copy = sqlite3.connect(self._sqlite), sqlite3.connect(target)
        with closing(source), closing(copy):
            source.backup(copy)
        return f"sqlite+aiosqlite:///{target}"

    async def postgres_copy(self, admin_dsn: str) -> str:
        """A new database on the cluster, a copy of the template; returns its URL."""
        if self._postgres is None:
            name = "petitionflow_template"
            await _migrate(self.folder, await new_database(admin_dsn, name=name))
            self._postgres = name
        return await new_database(admin_dsn, template=self._postgres)


async def _migrate(folder: Path, database_url: str) -> None:
    """Prepare the database as the API's first start in dev mode does: the newest migration,
    the demo directory, the demo accounts' password; then close it to be copied."""
    settings = make_settings(folder, database_url=database_url)
    sessions = await prepare_store(settings)
    async with sessions() as session:
        await prepare_accounts(settings, session)
    await dispose(sessions)


_number_blocks = itertools.count(1)


async def open_store(settings: Settings, *, prepared: bool = True) -> async_sessionmaker[Any]:
    """Sessions on the test's database, whose petition numbers start in a block of their own:
    tests share the dev server, where the petition number is the workflow id.

    ``prepared``: the database is a copy of the migrated template; otherwise it is migrated and
    loaded here, as the processes do at start."""
    if prepared:
        factory = make_sessionmaker(make_engine(settings.database_url))
    else:
        factory = await prepare_store(settings)
    block = next(_number_blocks) * 1000
    # The time-skipping clock runs ahead of the calendar: seed every year it may reach.
    this_year = petitions.utcnow().astimezone(petitions.BEIJING).year
    async with factory() as session:
        session.add_all(
            PetitionCounter(year=year, last=block) for year in range(this_year, this_year + 10)
        )
        await session.commit()
    return factory


async def register_petition(
    sessions: async_sessionmaker[Any],
    *,
    settings: Settings,
    track: str = "general",
    unit_id: str | None = "dongguan",
    category: str = "other",
    phone: str = "13800138000",
    name: str = "张三",
    id_number: str | None = None,
    repeat_of: str | None = None,
    now: datetime | None = None,
) -> str:
    """Write an intake record as the API would; returns the petition number. ``repeat_of``: a
    repeat of that matter, terminated (三级终结), with no new facts."""
    async with sessions() as session:
        registration = await petitions.register(
            session,
            intake={
                "channel": "visit",
                "petitioner_name": name,
                "petitioner_phone": phone,
                "petitioner_id_number": id_number,
                "persons": 1,
                "category": category,
                "summary": "工资拖欠",
                "content": "某建筑公司拖欠农民工工资三个月。",
                "unit_id": unit_id,
                "track": track,
                "repeat_of": repeat_of,
            },
            # On the time-skipping server the workflow clock runs ahead of the wall
            # clock: tests register at the server's "now" so intake deadlines line up.
            now=now or petitions.utcnow(),
            policy=settings.policy_snapshot(),
            policy_version=settings.policy(unit_id, category).version,
            idempotency_key=None,
            fingerprint="test",
        )
    return registration.petition.id


def outbox_notice(
    petition_id: str, key: str, kind: str, recipient: tuple[str, str], text: str, at: datetime
) -> Notice:
    """A slip as the record activity writes it: ``recipient`` is (person id, role)."""
    return Notice(
        petition_id=petition_id,
        key=key,
        kind=kind,
        level=None,
        recipient_id=recipient[0],
        recipient_name="某",
        recipient_role=recipient[1],
        text=text,
        created_at=at,
    )
