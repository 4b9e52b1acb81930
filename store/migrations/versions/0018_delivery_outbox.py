"""the delivery outbox (issue 11, the patch ``deliveries-outboxed``): a step's notices are written
marked ``to_route``; the notices' process (activities/outbox.py) looks up their channels, writes
their delivery rows and drains them. Each row
keeps the text it sends when not the notice's own (the petitioner's short SMS), when it is next
due (the quiet hours' release, a retry's backoff, or a claim's lease), and when it is given up;
a partial index holds only the rows still to send, so the drainer's claim reads a short range.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "status = 'pending' AND due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("notice_deliveries") as table:
        table.add_column(sa.Column("text", sa.Text(), nullable=True))
        table.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("notices") as table:
        table.add_column(sa.Column("to_route", sa.Boolean(), nullable=True))
    op.create_index(
        "ix_notices_to_route",
        "notices",
        ["id"],
        postgresql_where=sa.text("to_route IS true"),
        sqlite_where=sa.text("to_route IS 1"),
    )
    op.create_index(
        "ix_notice_deliveries_due",
        "notice_deliveries",
        ["due_at"],
        postgresql_where=sa.text(DUE),
        sqlite_where=sa.text(DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_index("ix_notices_to_route", table_name="notices")
    with op.batch_alter_table("notices") as table:
        table.drop_column("to_route")
    with op.batch_alter_table("notice_deliveries") as table:
        table.drop_column("give_up_at")
        table.drop_column("due_at")
        table.drop_column("text")
