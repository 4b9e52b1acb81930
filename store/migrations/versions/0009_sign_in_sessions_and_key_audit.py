"""sign-in: how each audit row's caller signed in, who issued an API key, a session's start,
the last password change, the sign-in throttle's counters; TRUNCATE refused on the trail

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        # password or api_key; the key's id and who issued it (a key is no one's disguise).
        batch_op.add_column(sa.Column("via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("key_issued_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "sign_in_counters",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # 0003's row trigger does not fire on TRUNCATE: a statement trigger refuses it too.
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.drop_table("sign_in_counters")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("session_started_at")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("issued_by")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_issued_by")
        batch_op.drop_column("api_key_id")
        batch_op.drop_column("via")
