"""On PostgreSQL, keep a listing's Feature text in its row (``STORAGE MAIN``).

Every search reads the Feature of each candidate; few read the record. A listing row is over
the 2 kB at which PostgreSQL starts to TOAST it, and under the default (``EXTENDED``) the
toaster moved the Feature, the largest value left once the record was compressed, out of the
row: each candidate then cost a lookup in the TOAST table's index and another page. Under
``MAIN`` the record goes out of line instead. Existing rows are rewritten so that their
Features move back in. SQLite keeps whole rows in its pages: nothing to do there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE public_listing ALTER COLUMN feature SET STORAGE MAIN")
    # A new value (not the stored, toasted one) is stored under the new strategy.
    op.execute("UPDATE public_listing SET feature = feature || ''")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE public_listing ALTER COLUMN feature SET STORAGE EXTENDED")
