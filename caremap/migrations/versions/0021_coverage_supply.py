"""coverage_supply: each published listing's public point with what stored coverage reads of
its service, kept by ``caremap coverage build`` (empty until the next build, which fills it:
from the listings' records when it computes only the missing indicators).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_supply",
        sa.Column("listing_id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_name", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("service_types", sa.Text(), nullable=False),
        sa.Column("populations", sa.Text(), nullable=False),
        sa.Column("seasons", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name="pk_coverage_supply"),
    )
    op.create_index("ix_coverage_supply_service_id", "coverage_supply", ["service_id"])


def downgrade() -> None:
    op.drop_table("coverage_supply")
