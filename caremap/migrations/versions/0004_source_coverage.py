"""source.coverage: the jurisdictions a source covers, so planners can tell "no data" from
"no service".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source", sa.Column("coverage", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source") as batch_op:
        batch_op.drop_column("coverage")
