"""The browse map's index: ``public_listing`` by public point, holding what a view's grid
reads (id and service), so a view is clustered from the index alone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_public_listing_point",
        "public_listing",
        ["latitude", "longitude", "id", "service_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_public_listing_point", table_name="public_listing")
