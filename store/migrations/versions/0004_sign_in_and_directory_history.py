"""sign-in, API keys, the directory's history and the petitioner's ID number

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("default_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("petitioner_id_number", sa.String(length=32), nullable=True))
    op.create_table(
        "post_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("post_terms", schema=None) as batch_op:
        batch_op.create_index("ix_post_terms_unit_role", ["unit_id", "role"], unique=False)
    # Backfill: everyone holding a post now starts a term today (the first release kept no
    # history, so nothing earlier is known).
    now = datetime.now(UTC)
    op.execute(
        sa.text(
            "INSERT INTO post_terms (unit_id, role, person_id, started_at) "
            "SELECT unit_id, role, person_id, :now FROM posts ORDER BY id"
        ).bindparams(sa.bindparam("now", now, type_=sa.DateTime(timezone=True)))
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_tokens_person", ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_refresh_tokens_person")
    op.drop_table("refresh_tokens")
    op.drop_table("api_keys")
    with op.batch_alter_table("post_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_post_terms_unit_role")
    op.drop_table("post_terms")
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_column("petitioner_id_number")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("default_password")
        batch_op.drop_column("password_hash")
