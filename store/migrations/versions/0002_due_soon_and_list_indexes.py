"""due soon and list indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The nearest pending deadline as a column (due-soon lists), and indexes for the
    # supervisors' list queries.
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_petitions_category", ["category"], unique=False)
        batch_op.create_index("ix_petitions_next_due", ["next_due_at"], unique=False)
        batch_op.create_index("ix_petitions_registered", ["registered_at"], unique=False)

    # Backfill from the deadlines each row already holds.
    petitions = sa.table(
        "petitions",
        sa.column("id", sa.String),
        sa.column("deadlines", sa.JSON),
        sa.column("next_due_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    for petition_id, deadlines in connection.execute(
        sa.select(petitions.c.id, petitions.c.deadlines)
    ):
        pending = [
            datetime.fromisoformat(d["due_at"]) for d in deadlines or [] if not d.get("passed")
        ]
        if pending:
            connection.execute(
                petitions.update()
                .where(petitions.c.id == petition_id)
                .values(next_due_at=min(pending))
            )


def downgrade() -> None:
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_index("ix_petitions_registered")
        batch_op.drop_index("ix_petitions_next_due")
        batch_op.drop_index("ix_petitions_category")
        batch_op.drop_column("next_due_at")
