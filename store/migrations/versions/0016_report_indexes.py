"""the 巡查's lists read by index (issue 13): the overdue petitions per unit in the order the
巡查 lists them (most urgent first), and the slips not yet signed for, as partial indexes (only
the rows the lists look at: a tenth of the petitions, a few of the notices).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_petitions_overdue_listed",
        "petitions",
        ["unit_id", "registered_at", "id"],
        postgresql_where=sa.text("overdue IS true"),
        sqlite_where=sa.text("overdue IS 1"),
    )
    op.create_index(
        "ix_notices_unsigned",
        "notices",
        ["created_at", "id"],
        postgresql_where=sa.text("signed_at IS NULL"),
        sqlite_where=sa.text("signed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notices_unsigned", table_name="notices")
    op.drop_index("ix_petitions_overdue_listed", table_name="petitions")
