"""the 月报's series of a closed month kept (issue 13): report_months (the months kept) and
report_month_counts (each kept month's petitions by channel, 集体访 and 去向, the intake fields
that never change after registration), and a trigger on petitions that forgets a kept month in
the very transaction that inserts, deletes or re-files (registered_at, channel, persons,
destination_level) one of its petitions (on PostgreSQL, a TRUNCATE forgets every month),
whichever code writes it: registration, the
simulator's bulk rows, a transplant, a restore, a bench's COPY or a hand-written statement.
And the reports' index on petitions (ix_petitions_report_series) carries what the 月报's
per-unit count and its categories read, so those are index-only scans on PostgreSQL rather than
a month's wide rows (some 2,500 pages: the intake's texts, the policy); a projected step is
never a HOT update and writes every index anyway, so widening one costs its bytes, not a write.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIES = ["channel", "persons", "destination_level"]  # what 0014 included
# What the reports count of a petition (store.models.REPORTED when this was written).
REPORTED = [*SERIES, "unit_id", "category", "track", "first_time", "stage", "phase"]
REPORTED += ["accepted_at", "unaccepted_overdue", "completed_at", "handling_overdue"]
REPORTED += ["rating", "closure"]

# The intake columns the kept counts read (registered_at names the month).
COUNTED = "registered_at, channel, persons, destination_level"


def _forget(row: str) -> str:
    """Delete the kept month a petition row (NEW or OLD) falls in."""
    return (
        f"DELETE FROM report_months WHERE starts_at <= {row}.registered_at "  # noqa: S608
        f"AND {row}.registered_at < ends_at;"
    )


POSTGRESQL = [
    f"""
    CREATE FUNCTION report_months_forget() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_forget("NEW")}
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_forget("OLD")}
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER petitions_forget_report_months
    AFTER INSERT OR DELETE OR UPDATE OF {COUNTED} ON petitions
    FOR EACH ROW EXECUTE PROCEDURE report_months_forget()
    """,
    # TRUNCATE fires no row trigger.
    """
    CREATE FUNCTION report_months_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM report_months;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER petitions_truncate_forgets_report_months AFTER TRUNCATE ON petitions
    FOR EACH STATEMENT EXECUTE PROCEDURE report_months_forget_all()
    """,
]
SQLITE = [
    f"""
    CREATE TRIGGER petitions_insert_forgets_report_months AFTER INSERT ON petitions
    BEGIN {_forget("NEW")} END
    """,
    f"""
    CREATE TRIGGER petitions_delete_forgets_report_months AFTER DELETE ON petitions
    BEGIN {_forget("OLD")} END
    """,
    f"""
    CREATE TRIGGER petitions_update_forgets_report_months
    AFTER UPDATE OF {COUNTED} ON petitions
    BEGIN {_forget("NEW")} {_forget("OLD")} END
    """,
]


def upgrade() -> None:
    op.create_table(
        "report_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_months_starts_at", "report_months", ["starts_at"])
    op.create_table(
        "report_month_counts",
        sa.Column(
            "month",
            sa.String(7),
            sa.ForeignKey("report_months.month", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("collective", sa.Boolean(), primary_key=True),
        sa.Column("destination", sa.String(16), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
    )
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    _report_index(REPORTED)


def _report_index(included: list[str]) -> None:
    op.drop_index("ix_petitions_report_series", table_name="petitions")
    op.create_index(
        "ix_petitions_report_series",
        "petitions",
        ["registered_at"],
        postgresql_include=included,
    )


def downgrade() -> None:
    _report_index(SERIES)
    if op.get_bind().dialect.name == "postgresql":
        for trigger, function in (
            ("petitions_forget_report_months", "report_months_forget"),
            ("petitions_truncate_forgets_report_months", "report_months_forget_all"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON petitions")
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER petitions_{name}_forgets_report_months")
    op.drop_table("report_month_counts")
    op.drop_index("ix_report_months_starts_at", table_name="report_months")
    op.drop_table("report_months")
