"""Services that serve an area: ``service_area`` (HSDS), a province or territory (``pruid``) or
all of Canada (``pruid`` NULL) served by a service without a location (a help line).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_area",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("extent_type", sa.String(length=20), nullable=False),
        sa.Column("pruid", sa.String(length=2), nullable=True),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("source_as_of", sa.String(length=50), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_service_area_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_area")),
    )
    op.create_index(op.f("ix_service_area_service_id"), "service_area", ["service_id"])
    op.create_index(op.f("ix_service_area_pruid"), "service_area", ["pruid"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_area_pruid"), table_name="service_area")
    op.drop_index(op.f("ix_service_area_service_id"), table_name="service_area")
    op.drop_table("service_area")
