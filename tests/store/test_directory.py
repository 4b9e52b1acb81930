"""Maintaining the org directory in the store: appointments, replacements and the history of
terms, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.vocabulary import Role, UnitKind
from store import directory

# After the seeded terms, which start when the test's directory is loaded.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


async def test_replacing_a_head_ends_the_old_term_and_keeps_the_history(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as session:
        await directory.create_person(session, "dongguan-head-2", "陈立新", "东关镇党委书记")
        made = await directory.appoint(
            session, "dongguan", Role.UNIT_HEAD, "dongguan-head-2", now=T0
        )
        await session.commit()
    assert [t.person_id for t in made.ended] == ["dongguan-head"]
    assert made.ended[0].ended_at == T0 and made.term.started_at == T0
    async with sessions() as session:
        heads = await directory.role_holders(session, "dongguan", "unit_head")
        assert [p.id for p, _ in heads] == ["dongguan-head-2"]
        history = await directory.post_history(session, "dongguan", "unit_head")
        assert [(t.person_id, t.ended_at) for t, _ in history] == [
            ("dongguan-head-2", None),
            ("dongguan-head", T0),
        ]
        before = await directory.post_history(
            session, "dongguan", Role.UNIT_HEAD.value, at=T0 - timedelta(hours=1)
        )
        at = await directory.post_history(session, "dongguan", Role.UNIT_HEAD.value, at=T0)
        assert [p.id for _, p in before] == ["dongguan-head"]
        assert [p.id for _, p in at] == ["dongguan-head-2"]


async def test_handlers_are_many_and_a_new_one_ranks_last(
    sessions: async_sessionmaker[Any],
) -> None:
    async with sessions() as session:
        await directory.create_person(session, "dongguan-h3", "钱多多", "东关镇信访办干事")
        made = await directory.appoint(session, "dongguan", Role.HANDLER, "dongguan-h3")
        await session.commit()
        assert made.ended == []
        handlers = await directory.role_holders(session, "dongguan", "handler")
        assert [p.id for p, _ in handlers] == ["dongguan-h1", "dongguan-h2", "dongguan-h3"]
        ended = await directory.end_term(session, made.term.id)
        await session.commit()
        assert ended.ended_at is not None
        assert len(await directory.role_holders(session, "dongguan", "handler")) == 2
        with pytest.raises(directory.DirectoryConflict):
            await directory.end_term(session, made.term.id)


@pytest.mark.parametrize(
    ("unit_id", "role", "person_id", "field"),
    [
        ("nowhere", Role.HANDLER, "dongguan-h1", "unit_id"),
        ("dongguan", Role.HANDLER, "nobody", "person_id"),
        ("dongguan", Role.CASE_OWNER, "cl-01", "role"),
        ("dongguan", Role.AUDITOR, "audit-01", "role"),
    ],
)
async def test_an_invalid_appointment_names_the_field(
    sessions: async_sessionmaker[Any], unit_id: str, role: Role, person_id: str, field: str
) -> None:
    async with sessions() as session:
        with pytest.raises(directory.InvalidReference) as refused:
            await directory.appoint(session, unit_id, role, person_id)
    assert refused.value.field == field


async def test_conflicts_are_refused(sessions: async_sessionmaker[Any]) -> None:
    async with sessions() as session:
        with pytest.raises(directory.DirectoryConflict):
            await directory.appoint(session, "dongguan", Role.UNIT_HEAD, "dongguan-head")
        with pytest.raises(directory.DirectoryConflict):
            await directory.create_unit(session, "dongguan", "东关镇", UnitKind.TOWNSHIP)
        with pytest.raises(directory.DirectoryConflict):
            await directory.create_unit(session, "bureau-2", "第二信访局", UnitKind.BUREAU)
        with pytest.raises(directory.DirectoryConflict):
            await directory.create_person(session, "new", "新人", "干事", username="demo-bureau")
        # The second dispatcher may go; the last one may not (nobody could administer then).
        terms = await directory.post_history(
            session, "bureau", Role.BUREAU_DISPATCHER.value, include_ended=False
        )
        by_person = {t.person_id: t.id for t, _ in terms}
        await directory.end_term(session, by_person["bureau-02"])
        with pytest.raises(directory.DirectoryConflict):
            await directory.end_term(session, by_person["bureau-01"])
