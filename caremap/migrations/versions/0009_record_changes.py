"""Change sets and history of any record: organizations and locations too, not only services.

``change_set`` gains the record it changes (``record_type``, ``record_id``; existing rows are
services' change sets); ``change_set.service_id`` and ``metadata.service_id`` may be empty (an
organization's or a location's own fields); ``metadata`` is indexed by its resource.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.String(length=64)


def upgrade() -> None:
    with op.batch_alter_table("change_set") as batch_op:
        batch_op.add_column(sa.Column("record_type", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("record_id", ID, nullable=True))
    op.execute("UPDATE change_set SET record_type = 'service', record_id = service_id")
    with op.batch_alter_table("change_set") as batch_op:
        batch_op.alter_column("record_type", existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column("record_id", existing_type=ID, nullable=False)
        batch_op.alter_column("service_id", existing_type=ID, nullable=True)
        batch_op.create_index(batch_op.f("ix_change_set_record_id"), ["record_id"])
    with op.batch_alter_table("metadata") as batch_op:
        batch_op.alter_column("service_id", existing_type=ID, nullable=True)
        batch_op.create_index("ix_metadata_resource", ["resource_type", "resource_id"])


def downgrade() -> None:
    op.execute("DELETE FROM metadata WHERE service_id IS NULL")
    op.execute("DELETE FROM change_set WHERE service_id IS NULL")
    with op.batch_alter_table("metadata") as batch_op:
        batch_op.drop_index("ix_metadata_resource")
        batch_op.alter_column("service_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("change_set") as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_set_record_id"))
        batch_op.alter_column("service_id", existing_type=ID, nullable=False)
        batch_op.drop_column("record_id")
        batch_op.drop_column("record_type")
