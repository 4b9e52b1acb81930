"""the case owner's reach: petitions.owner_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A leader who owns a case (包案) sees it wherever it is: an indexed column, so "my cases"
    # is a query and not a scan of the owner JSON.
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_petitions_owner", ["owner_id"], unique=False)

    petitions = sa.table(
        "petitions",
        sa.column("id", sa.String),
        sa.column("owner", sa.JSON),
        sa.column("owner_id", sa.String),
    )
    connection = op.get_bind()
    for petition_id, owner in connection.execute(
        sa.select(petitions.c.id, petitions.c.owner).where(petitions.c.owner.is_not(None))
    ):
        if owner and owner.get("person_id"):
            connection.execute(
                petitions.update()
                .where(petitions.c.id == petition_id)
                .values(owner_id=owner["person_id"])
            )


def downgrade() -> None:
    with op.batch_alter_table("petitions", schema=None) as batch_op:
        batch_op.drop_index("ix_petitions_owner")
        batch_op.drop_column("owner_id")
