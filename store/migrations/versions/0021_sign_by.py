"""the moment a 督办单 must be signed for (签收) by, kept on the notice (issue 11, the patch
``signatures-watched-in-outbox``): the notices' process writes the 催办 of one not signed for in
time, so the petition's workflow holds no timer and runs no activity for it; a partial index
holds the few notices still awaited.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWAITED = "sign_by IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("notices") as table:
        table.add_column(sa.Column("sign_by", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_notices_sign_by",
        "notices",
        ["sign_by"],
        postgresql_where=sa.text(AWAITED),
        sqlite_where=sa.text(AWAITED),
    )


def downgrade() -> None:
    op.drop_index("ix_notices_sign_by", table_name="notices")
    with op.batch_alter_table("notices") as table:
        table.drop_column("sign_by")
