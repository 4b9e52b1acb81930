"""how many petitions the read model holds (issue 9), kept by the database itself: the bureau's
unfiltered list counts every row, and under writes PostgreSQL must visit the heap for each row
of a page that changed since the last vacuum (the open petitions' pages always have), so that
exact count cost the list 40 ms at 100k. Triggers keep the tally on every insert and delete,
whoever writes them (registration, the rebuild, the simulator's bulk rows, a COPY), and on
PostgreSQL a TRUNCATE; the list reads one row.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: statement triggers with transition tables, so a bulk insert of thousands of rows
# (the simulator, a COPY) updates the tally once, not once a row.
POSTGRESQL = [
    "CREATE FUNCTION petition_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE petition_tally SET petitions = petitions + (SELECT count(*) FROM added); "
    "RETURN NULL; END $$",
    "CREATE FUNCTION petition_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE petition_tally SET petitions = petitions - (SELECT count(*) FROM removed); "
    "RETURN NULL; END $$",
    "CREATE FUNCTION petition_tally_emptied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE petition_tally SET petitions = 0; RETURN NULL; END $$",
    "CREATE TRIGGER petition_tally_insert AFTER INSERT ON petitions REFERENCING NEW TABLE AS "
    "added FOR EACH STATEMENT EXECUTE FUNCTION petition_tally_inserted()",
    "CREATE TRIGGER petition_tally_delete AFTER DELETE ON petitions REFERENCING OLD TABLE AS "
    "removed FOR EACH STATEMENT EXECUTE FUNCTION petition_tally_deleted()",
    "CREATE TRIGGER petition_tally_truncate AFTER TRUNCATE ON petitions "
    "FOR EACH STATEMENT EXECUTE FUNCTION petition_tally_emptied()",
]
SQLITE = [
    "CREATE TRIGGER petition_tally_insert AFTER INSERT ON petitions BEGIN "
    "UPDATE petition_tally SET petitions = petitions + 1; END",
    "CREATE TRIGGER petition_tally_delete AFTER DELETE ON petitions BEGIN "
    "UPDATE petition_tally SET petitions = petitions - 1; END",
]


def upgrade() -> None:
    # One row (id 1): the tally of the petitions table.
    op.create_table(
        "petition_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petitions", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_petition_tally_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO petition_tally (id, petitions) SELECT 1, count(*) FROM petitions")
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in ("insert", "delete", "truncate"):
            op.execute(f"DROP TRIGGER petition_tally_{event} ON petitions")
        for function in ("inserted", "deleted", "emptied"):
            op.execute(f"DROP FUNCTION petition_tally_{function}()")
    else:
        for event in ("insert", "delete"):
            op.execute(f"DROP TRIGGER petition_tally_{event}")
    op.drop_table("petition_tally")
