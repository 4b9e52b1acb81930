"""the supervisors' lists read in their own order under writes (issue 9): each list's index ends
with the list's order (registered_at, id), so a page is a short range of one index, not a filter
over the newest rows or a sort; the flags and the rarely set columns get partial indexes (only
the rows that carry them), so a projected step, which moves a petition's stage, level, overdue
and deadline and so can never be a HOT update, writes fewer index entries; and on PostgreSQL
autovacuum visits the petitions table sooner, keeping the visibility map fresh for the
index-only counts of the lists' totals.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns, PostgreSQL predicate, SQLite predicate) before and after.
Indexes = list[tuple[str, list[str], str | None, str | None]]
BEFORE: Indexes = [
    ("ix_petitions_unit_level", ["unit_id", "level"], None, None),
    ("ix_petitions_registered", ["registered_at"], None, None),
    ("ix_petitions_category", ["category"], None, None),
    ("ix_petitions_overdue", ["overdue"], None, None),
    ("ix_petitions_unaccepted_overdue", ["unaccepted_overdue"], None, None),
    ("ix_petitions_owner", ["owner_id"], None, None),
    ("ix_petitions_handling_unit", ["handling_unit_id"], None, None),
    ("ix_petitions_next_due", ["next_due_at"], None, None),
]
AFTER: Indexes = [
    ("ix_petitions_unit_recent", ["unit_id", "registered_at", "id"], None, None),
    ("ix_petitions_recent", ["registered_at", "id"], None, None),
    ("ix_petitions_category_recent", ["category", "registered_at", "id"], None, None),
    ("ix_petitions_overdue_recent", ["registered_at", "id"], "overdue IS true", "overdue IS 1"),
    (
        "ix_petitions_unaccepted_overdue",
        ["registered_at", "id"],
        "unaccepted_overdue IS true",
        "unaccepted_overdue IS 1",
    ),
    ("ix_petitions_owner", ["owner_id"], "owner_id IS NOT NULL", "owner_id IS NOT NULL"),
    (
        "ix_petitions_handling_unit",
        ["handling_unit_id"],
        "handling_unit_id IS NOT NULL",
        "handling_unit_id IS NOT NULL",
    ),
    (
        "ix_petitions_next_due",
        ["next_due_at"],
        "next_due_at IS NOT NULL",
        "next_due_at IS NOT NULL",
    ),
]
# PostgreSQL counts a unit's rows by level from the unit's index alone, and orders the rows due
# soon from the deadlines' index alone.
INCLUDED = {"ix_petitions_unit_recent": ["level"], "ix_petitions_next_due": ["registered_at", "id"]}
# Vacuumed after 1 % of its rows changed (the default waits for 20 %): the lists' counts read the
# visibility map, and a stale one sends them to the table's wide rows.
AUTOVACUUM = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")


def _swap(drop: Indexes, create: Indexes) -> None:
    for name, _, _, _ in drop:
        op.drop_index(name, table_name="petitions")
    for name, columns, on_postgresql, on_sqlite in create:
        op.create_index(
            name,
            "petitions",
            columns,
            postgresql_where=sa.text(on_postgresql) if on_postgresql else None,
            sqlite_where=sa.text(on_sqlite) if on_sqlite else None,
            postgresql_include=INCLUDED.get(name),
        )


def upgrade() -> None:
    _swap(BEFORE, AFTER)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE petitions SET ({', '.join(f'{p} = 0.01' for p in AUTOVACUUM)})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE petitions RESET ({', '.join(AUTOVACUUM)})")
    _swap(AFTER, BEFORE)
