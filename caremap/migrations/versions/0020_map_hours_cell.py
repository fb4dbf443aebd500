"""The browse map's open now from ``map_hours`` alone: each row gains its member's finest cell
and public point, and whether no other row of the listing can be open at the same time; the
day index covers them, so that the open rows give their cells without reading ``map_member``,
and only the rows of listings with several give them to ``DISTINCT``.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

``map_hours`` is made anew (its rows are built by ``caremap.publish`` after migrating: the
listings' code version changed).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_DAY = ["timezone", "weekday", "opens_us", "closes_us", "valid_from", "valid_to"]


def _hours(*extra: sa.Column) -> None:
    op.create_table(
        "map_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_us", sa.BigInteger(), nullable=False),
        sa.Column("closes_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_map_hours"),
    )
    op.create_index("ix_map_hours_listing_id", "map_hours", ["listing_id"])
    op.create_index("ix_map_hours_service_id", "map_hours", ["service_id"])


def upgrade() -> None:
    op.drop_table("map_hours")
    _hours(
        sa.Column("alone", sa.Boolean(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_map_hours_day",
        "map_hours",
        ["timezone", "weekday", "alone", *_DAY[2:], "y", "x", "latitude", "longitude", "listing_id"],
    )


def downgrade() -> None:
    op.drop_table("map_hours")
    _hours()
    op.create_index("ix_map_hours_day", "map_hours", [*_DAY, "listing_id"])
