"""逾期未受理 in lists: petitions.unaccepted_overdue

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The bureau lists the petitions left unaccepted past the statutory limit (信访工作条例
    # art. 22): a flag the workflow sets at that limit, indexed like ``overdue``. Rows written
    # before it existed were never flagged (the workflow did not act at the limit then).
    # Plain ALTER TABLE … ADD COLUMN, on SQLite too: a batch would copy the table, which the
    # timeline's and the notices' foreign keys forbid once rows refer to it.
    op.add_column(
        "petitions",
        sa.Column("unaccepted_overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_petitions_unaccepted_overdue", "petitions", ["unaccepted_overdue"], unique=False
    )


def downgrade() -> None:
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_index("ix_petitions_unaccepted_overdue")
        batch_op.drop_column("unaccepted_overdue")
