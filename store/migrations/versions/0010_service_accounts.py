"""service accounts: ``people.service_role`` marks an integration's account (系统对接), which
holds no post and never signs in; API keys act only as one

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

A column on ``people`` rather than a table of its own: an API key, the audit trail and the
directory all name an account by its person id already, so a service account is a directory
entry like any other, told apart by this one column (its role; None for a person).

Keys issued before it are left as they are, not revoked here: one bound to a person is refused
at its next use with a 401 saying why (api.auth), which also holds for any such row written
later by hand, and the record of who issued it stays.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_role", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("service_role")
