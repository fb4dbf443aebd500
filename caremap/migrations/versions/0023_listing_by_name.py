"""An index of the published listings in the order they are listed by name (service name, then
id, by code point, then location order), so that a search without an origin and an OGC items
page read the first listings in that order instead of sorting them all.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NAME = "ix_public_listing_by_name"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":  # by code point, as SQLite compares text
        op.execute(
            f'CREATE INDEX {NAME} ON public_listing (service_name COLLATE "C", '
            'service_id COLLATE "C", position)'
        )
    else:
        op.create_index(NAME, "public_listing", ["service_name", "service_id", "position"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="public_listing")
