"""public_listing.place: the organization (case and spacing folded) of a public listing placed
at an address, by which a search groups programmes into places without reading their Features;
NULL for any other listing. Filled when the listings are rebuilt (publish version 9).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("public_listing", sa.Column("place", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("public_listing") as batch:
        batch.drop_column("place")
