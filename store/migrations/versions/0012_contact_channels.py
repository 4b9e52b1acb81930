"""contact channels: each person's email, mobile, quiet hours and channel choices; group chats
(a unit's, or a named one) with their WeCom and DingTalk robots

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("mobile", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("channel_preferences", sa.JSON(), nullable=True))
    op.create_table(
        "chat_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("wecom_url", sa.String(length=500), nullable=True),
        sa.Column("dingtalk_url", sa.String(length=500), nullable=True),
        sa.Column("dingtalk_secret", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id"),
    )


def downgrade() -> None:
    op.drop_table("chat_groups")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("channel_preferences")
        batch_op.drop_column("quiet_hours")
        batch_op.drop_column("mobile")
        batch_op.drop_column("email")
