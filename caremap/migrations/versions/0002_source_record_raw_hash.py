"""source_record: raw_hash and warnings, so unchanged rows are skipped before transforming.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_record", sa.Column("raw_hash", sa.String(length=64), nullable=True))
    op.add_column("source_record", sa.Column("warnings", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_record") as batch_op:
        batch_op.drop_column("warnings")
        batch_op.drop_column("raw_hash")
