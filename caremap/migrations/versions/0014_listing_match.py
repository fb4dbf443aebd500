"""Cross-source matching: ``listing_match``, pairs of records of different sources that may
describe one service, with their score, status and a moderator's decision.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_match",
        sa.Column("source_a", sa.String(length=100), nullable=False),
        sa.Column("record_a", sa.String(length=200), nullable=False),
        sa.Column("source_b", sa.String(length=100), nullable=False),
        sa.Column("record_b", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("kept_service_id", sa.String(length=64), nullable=True),
        sa.Column("merged_service_id", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["app_user.id"],
            name=op.f("fk_listing_match_decided_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "source_a", "record_a", "source_b", "record_b", name=op.f("pk_listing_match")
        ),
    )
    op.create_index(op.f("ix_listing_match_status"), "listing_match", ["status"])
    op.create_index(
        op.f("ix_listing_match_merged_service_id"), "listing_match", ["merged_service_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_listing_match_merged_service_id"), table_name="listing_match")
    op.drop_index(op.f("ix_listing_match_status"), table_name="listing_match")
    op.drop_table("listing_match")
