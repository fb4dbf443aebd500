"""The browse map's filters from stored rows: ``map_member`` gains each listing's finest cell,
timezone and whether it has weekly hours and seasonal dates; ``map_term`` holds its service's
terms and languages, ``map_code_cell`` the low zooms' cells per term or language, ``map_hours``, ``map_season`` and ``map_beds`` the public hours, seasons
and availability counts the time filters test.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

``map_member`` is made anew (its rows, like the new tables', are built by ``caremap.publish``
after migrating: the listings' code version changed).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _members(*extra: sa.Column) -> None:
    op.create_table(
        "map_member",
        sa.Column("id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_map_member"),
    )
    op.create_index("ix_map_member_service_id", "map_member", ["service_id"])
    op.create_index("ix_map_member_point", "map_member", ["latitude", "longitude"])


def _listing_rows(name: str, *columns: sa.Column) -> None:
    """A table of rows about listings, found by listing and by service."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_listing_id", name, ["listing_id"])
    op.create_index(f"ix_{name}_service_id", name, ["service_id"])


def upgrade() -> None:
    op.drop_table("map_member")
    _members(
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("seasonal", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_map_member_cell",
        "map_member",
        ["y", "x", "latitude", "longitude", "id", "weekly", "seasonal"],
    )
    op.create_table(
        "map_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("facet", sa.String(10), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_map_term"),
    )
    op.create_index("ix_map_term_service_id", "map_term", ["service_id"])
    op.create_index(
        "ix_map_term_cell",
        "map_term",
        ["facet", "code", "y", "x", "latitude", "longitude", "listing_id"],
    )
    op.create_table(
        "map_code_cell",
        sa.Column("facet", sa.String(10), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("zoom", sa.Integer(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("latitude_sum", sa.Float(), nullable=False),
        sa.Column("longitude_sum", sa.Float(), nullable=False),
        sa.Column("only_id", sa.String(130), nullable=True),
        sa.PrimaryKeyConstraint("facet", "code", "zoom", "x", "y", name="pk_map_code_cell"),
    )
    _listing_rows(
        "map_hours",
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_us", sa.BigInteger(), nullable=False),
        sa.Column("closes_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
    )
    op.create_index(
        "ix_map_hours_day",
        "map_hours",
        ["timezone", "weekday", "opens_us", "closes_us", "valid_from", "valid_to", "listing_id"],
    )
    _listing_rows(
        "map_season",
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
    )
    _listing_rows(
        "map_beds",
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for name in ("map_beds", "map_season", "map_hours", "map_code_cell", "map_term", "map_member"):
        op.drop_table(name)
    _members()
