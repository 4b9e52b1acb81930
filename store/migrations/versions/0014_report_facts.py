"""what the bureau's reports count (issue 13): petitions.destination_level, first_time and
key_petitioner (intake fields with defaults, so every petition already registered counts as a
first petition, to the county bureau, of no key petitioner); the 专报 marks, the leaders'
reception days (领导接访) and the AB-post duty roster.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN, on SQLite too: a batch would copy the table, which the
    # timeline's and the notices' foreign keys refuse to let go.
    op.add_column(
        "petitions",
        sa.Column(
            "destination_level", sa.String(length=16), server_default="county", nullable=False
        ),
    )
    op.add_column(
        "petitions",
        sa.Column("first_time", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "petitions",
        sa.Column("key_petitioner", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_petitions_report_series",
        "petitions",
        ["registered_at"],
        postgresql_include=["channel", "persons", "destination_level"],
    )
    op.create_table(
        "special_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("petition_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["petition_id"], ["petitions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_special_reports_marked_at", "special_reports", ["marked_at"])
    op.create_index("ix_special_reports_petition_id", "special_reports", ["petition_id"])
    op.create_table(
        "leader_receptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("leader_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("petitions", sa.Integer(), nullable=False),
        sa.Column("signed_instructions", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_leader_receptions_day", "leader_receptions", ["day"])
    op.create_table(
        "duty_roster",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("a_person_id", sa.String(length=64), nullable=False),
        sa.Column("b_person_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["a_person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["b_person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("duty_roster")
    op.drop_index("ix_leader_receptions_day", table_name="leader_receptions")
    op.drop_table("leader_receptions")
    op.drop_index("ix_special_reports_petition_id", table_name="special_reports")
    op.drop_index("ix_special_reports_marked_at", table_name="special_reports")
    op.drop_table("special_reports")
    op.drop_index("ix_petitions_report_series", table_name="petitions")
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_column("key_petitioner")
        batch_op.drop_column("first_time")
        batch_op.drop_column("destination_level")
