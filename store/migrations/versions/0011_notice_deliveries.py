"""notices reach their people (issue 11): each notice's deliveries per channel, and when its
recipient signed for it (签收)

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
    # The inbox: a person's notices, unsigned first.
    op.create_index("ix_notices_recipient", "notices", ["recipient_id", "signed_at"])
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("notice_id", "channel"),
    )
    op.create_index("ix_notice_deliveries_status", "notice_deliveries", ["status"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_status", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_index("ix_notices_recipient", table_name="notices")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("signed_at")
