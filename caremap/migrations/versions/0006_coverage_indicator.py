"""coverage_indicator: indicators stored by ``caremap coverage build`` for the standard
selections of every jurisdiction level.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SHARES = ("10km", "25km", "50km", "100km", "250km")


def upgrade() -> None:
    op.create_table(
        "coverage_indicator",
        sa.Column("level", sa.String(30), primary_key=True),
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("service_type", sa.String(60), primary_key=True),
        sa.Column("population_served", sa.String(60), primary_key=True),
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("services_per_100k", sa.Float()),
        sa.Column("beds_per_10k", sa.Float()),
        *(sa.Column(f"share_beyond_{km}", sa.Float()) for km in SHARES),
        sa.Column("access_score", sa.Float()),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("coverage_indicator")
