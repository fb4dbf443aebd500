"""location.timezone: the IANA time zone a location's opening hours are in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("location", sa.Column("timezone", sa.String(length=40), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that would rebuild the table and drop its triggers.
    op.drop_column("location", "timezone")
