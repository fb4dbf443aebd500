"""public_listing: one row per service at a location, ready to publish (the search read model).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

The rows are built by ``caremap.publish`` after migrating (``Store.upgrade``), not here: a
migration must not depend on the current model.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_listing",
        sa.Column("id", sa.String(130), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_name", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("capacities", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name="fk_public_listing_service_id_service",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name="fk_public_listing_location_id_location",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_public_listing"),
    )
    op.create_index("ix_public_listing_service_id", "public_listing", ["service_id"])
    op.create_index("ix_public_listing_location_id", "public_listing", ["location_id"])
    op.create_table(
        "public_listing_code",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_public_listing_code"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE public_listing ADD COLUMN geog geography(Point, 4326) GENERATED ALWAYS "
            "AS (ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)::geography) STORED"
        )
        op.execute("CREATE INDEX ix_public_listing_geog ON public_listing USING gist (geog)")


def downgrade() -> None:
    op.drop_table("public_listing_code")
    op.drop_table("public_listing")
