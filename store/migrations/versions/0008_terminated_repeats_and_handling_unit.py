"""terminated repeats and the handling unit's books: petitions.repeat_rule, new_facts,
handling_unit_id, handling_overdue (issue 10, items 5 and 8)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

petitions = sa.table(
    "petitions",
    sa.column("id", sa.String),
    sa.column("phase", sa.String),
    sa.column("unit_id", sa.String),
    sa.column("overdue", sa.Boolean),
    sa.column("handling_unit_id", sa.String),
    sa.column("handling_overdue", sa.Boolean),
)
events = sa.table(
    "timeline_events",
    sa.column("petition_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("kind", sa.String),
    sa.column("person_id", sa.String),
)
terms = sa.table(
    "post_terms",
    sa.column("unit_id", sa.String),
    sa.column("role", sa.String),
    sa.column("person_id", sa.String),
    sa.column("started_at", sa.DateTime),
)


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN, on SQLite too: a batch would copy the table, which the
    # timeline's and the notices' foreign keys forbid.
    op.add_column("petitions", sa.Column("repeat_rule", sa.String(length=32), nullable=True))
    op.add_column("petitions", sa.Column("new_facts", sa.Text(), nullable=True))
    op.add_column("petitions", sa.Column("handling_unit_id", sa.String(length=64), nullable=True))
    op.add_column(
        "petitions",
        sa.Column("handling_overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_petitions_handling_unit", "petitions", ["handling_unit_id"], unique=False)
    connection = op.get_bind()
    # Still in the first round: the unit it is at handles it.
    connection.execute(
        petitions.update()
        .where(petitions.c.phase == "handling")
        .values(handling_unit_id=petitions.c.unit_id, handling_overdue=petitions.c.overdue)
    )
    # In 复查/复核: the handling unit is the one its first acceptance's handler held a post in
    # (the directory's history), and it was overdue if an overdue step came before the first
    # review request.
    reviewed = connection.execute(
        sa.select(petitions.c.id).where(petitions.c.phase != "handling")
    ).scalars()
    for petition_id in list(reviewed):
        steps = connection.execute(
            sa.select(events.c.kind, events.c.person_id, events.c.at)
            .where(events.c.petition_id == petition_id)
            .order_by(events.c.seq)
        ).all()
        first_round = []
        for step in steps:
            if step.kind == "review_requested":
                break
            first_round.append(step)
        handler = next((s for s in first_round if s.kind == "accepted"), None)
        unit_id = None
        if handler is not None and handler.person_id:
            unit_id = connection.execute(
                sa.select(terms.c.unit_id)
                .where(terms.c.person_id == handler.person_id, terms.c.role == "handler")
                .order_by(terms.c.started_at)
                .limit(1)
            ).scalar()
        connection.execute(
            petitions.update()
            .where(petitions.c.id == petition_id)
            .values(
                handling_unit_id=unit_id,
                handling_overdue=any(s.kind == "overdue" for s in first_round),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_index("ix_petitions_handling_unit")
        batch_op.drop_column("handling_overdue")
        batch_op.drop_column("handling_unit_id")
        batch_op.drop_column("new_facts")
        batch_op.drop_column("repeat_rule")
