"""The browse map's stored grid: ``map_member`` (each published listing's public point as the
grid counts it) and ``map_cell`` (per zoom, the cells holding listings).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

The rows are built by ``caremap.publish`` after migrating (``Store.upgrade``), not here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "map_member",
        sa.Column("id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_map_member"),
    )
    op.create_index("ix_map_member_service_id", "map_member", ["service_id"])
    op.create_index("ix_map_member_point", "map_member", ["latitude", "longitude"])
    op.create_table(
        "map_cell",
        sa.Column("zoom", sa.Integer(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("latitude_sum", sa.Float(), nullable=False),
        sa.Column("longitude_sum", sa.Float(), nullable=False),
        sa.Column("only_id", sa.String(130), nullable=True),
        sa.PrimaryKeyConstraint("zoom", "x", "y", name="pk_map_cell"),
    )


def downgrade() -> None:
    op.drop_table("map_cell")
    op.drop_table("map_member")
