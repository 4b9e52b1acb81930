"""the slips as numbered documents (文号): notices.serial_year, serial, deadline;
documents.serial_year, serial, details; the counters per kind and year (issue 11, item 5).
Slips and documents written before this revision are numbered here, in the order they were
written, and a 答复意见书 is written for every reply already given.

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEIJING = timezone(timedelta(hours=8))
# domain.slips.NUMBER_CODES as of this revision (a migration never imports the code it
# migrates: the code moves on, the migration must not).
NUMBERED = (
    "assignment",
    "reminder",
    "supervision",
    "overdue",
    "acceptance_notice",
    "reply_opinion",
)

PHASES = ("handling", "review", "re_review")


def _numbered(name: str, *more: sa.ColumnClause[Any]) -> sa.TableClause:
    """A table whose rows take numbers: as much of it as this revision reads and writes."""
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("serial_year", sa.Integer),
        sa.column("serial", sa.Integer),
        *more,
    )


notices = _numbered("notices")
documents = _numbered(
    "documents",
    sa.column("petition_id", sa.String),
    sa.column("key", sa.String),
    sa.column("text", sa.Text),
    sa.column("details", sa.JSON),
)
# What 0013 reads of the replies already given and of their petitions, typed so that SQLite's
# stored times come back as datetimes.
REPLIES = sa.text(
    "SELECT e.petition_id, e.seq, e.at, e.note, p.unit_id, p.phase, p.handling_unit_id "
    "FROM timeline_events e JOIN petitions p ON p.id = e.petition_id "
    "WHERE e.kind = 'completed' AND e.note IS NOT NULL ORDER BY e.at, e.petition_id, e.seq"
).columns(at=sa.DateTime(timezone=True))
counters = sa.table(
    "document_counters",
    sa.column("kind", sa.String),
    sa.column("year", sa.Integer),
    sa.column("last", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serial_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("serial", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deadline", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint("uq_notices_number", ["kind", "serial_year", "serial"])
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serial_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("serial", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint("uq_documents_number", ["kind", "serial_year", "serial"])
    op.create_table(
        "document_counters",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "year"),
    )
    bind = op.get_bind()
    _write_replies(bind)
    last: dict[tuple[str, int], int] = {}
    for table in (notices, documents):
        _number(bind, table, last)
    if last:
        op.bulk_insert(
            counters, [{"kind": k, "year": y, "last": n} for (k, y), n in sorted(last.items())]
        )


def _write_replies(bind: sa.Connection) -> None:
    """The 答复意见书 of every reply already given (the projection writes them from now on)."""
    rounds: dict[str, int] = {}
    new = []
    for r in bind.execute(REPLIES).all():
        # A round replies once: the first reply is 办理's, then 复查's, then 复核's.
        phase = PHASES[min(rounds.get(r.petition_id, 0), len(PHASES) - 1)]
        rounds[r.petition_id] = rounds.get(r.petition_id, 0) + 1
        unit = r.unit_id if phase == r.phase else None
        if phase == "handling":
            unit = r.handling_unit_id or unit
        new.append(
            {
                "petition_id": r.petition_id,
                "kind": "reply_opinion",
                "key": f"reply-{r.seq}",
                "text": r.note,
                "created_at": r.at,
                "details": {"unit_id": unit, "phase": phase},
            }
        )
    if new:
        op.bulk_insert(documents, new)


def _number(bind: sa.Connection, table: sa.TableClause, last: dict[tuple[str, int], int]) -> None:
    """Number the rows of the numbered kinds in the order they were written (created_at, then
    id), per kind and Beijing year, as the projection would have."""
    rows = bind.execute(
        sa.select(table.c.id, table.c.kind, table.c.created_at)
        .where(table.c.kind.in_(NUMBERED))
        .order_by(table.c.created_at, table.c.id)
    ).all()
    for row in rows:
        year = _aware(row.created_at).astimezone(BEIJING).year
        serial = last.get((row.kind, year), 0) + 1
        last[(row.kind, year)] = serial
        bind.execute(
            sa.update(table).where(table.c.id == row.id).values(serial_year=year, serial=serial)
        )


def _aware(moment: datetime | str) -> datetime:
    # SQLite hands back naive UTC (or, through a raw table, an ISO string).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def downgrade() -> None:
    op.execute(sa.delete(documents).where(documents.c.kind == "reply_opinion"))
    op.drop_table("document_counters")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_number", type_="unique")
        batch_op.drop_column("details")
        batch_op.drop_column("serial")
        batch_op.drop_column("serial_year")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notices_number", type_="unique")
        batch_op.drop_column("deadline")
        batch_op.drop_column("serial")
        batch_op.drop_column("serial_year")
