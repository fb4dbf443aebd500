"""The browse map's filters by codes of several facets: ``map_term`` indexed by listing, facet
and code, so that a listing read from the rarest facet's range is probed for the others'.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_map_term_listing", "map_term", ["listing_id", "facet", "code"])


def downgrade() -> None:
    op.drop_index("ix_map_term_listing", "map_term")
