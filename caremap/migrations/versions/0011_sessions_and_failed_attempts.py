"""Sessions the server can end, and failed attempts every serving process counts alike.

``app_user.session_generation`` is part of every session's id: signing out or changing the
password adds one, and every session of the account ends, copied cookies too.
``failed_attempt`` holds failed sign-ins (password changes, reset links) per client address
and per account and address, so that the limits are shared by every worker.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "failed_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_attempt")),
    )
    op.create_index("ix_failed_attempt_address_at", "failed_attempt", ["address", "at"])
    op.create_index(op.f("ix_failed_attempt_at"), "failed_attempt", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_failed_attempt_at"), table_name="failed_attempt")
    op.drop_index("ix_failed_attempt_address_at", table_name="failed_attempt")
    op.drop_table("failed_attempt")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_generation")
