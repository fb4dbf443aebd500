"""The continuum of care: ``service_link``, a service's usual next steps (the services it refers
people to or receives them from), with a reason in English and French.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_link",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("from_service_id", sa.String(length=64), nullable=False),
        sa.Column("to_service_id", sa.String(length=64), nullable=False),
        sa.Column("link_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("description_fr", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=False),
        sa.Column("source_as_of", sa.String(length=50), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_service_id"],
            ["service.id"],
            name=op.f("fk_service_link_from_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_service_id"],
            ["service.id"],
            name=op.f("fk_service_link_to_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_link")),
        sa.UniqueConstraint(
            "from_service_id",
            "to_service_id",
            "link_type",
            name=op.f("uq_service_link_from_service_id"),
        ),
    )
    op.create_index(op.f("ix_service_link_from_service_id"), "service_link", ["from_service_id"])
    op.create_index(op.f("ix_service_link_to_service_id"), "service_link", ["to_service_id"])
    op.create_index(op.f("ix_service_link_source_name"), "service_link", ["source_name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_link_source_name"), table_name="service_link")
    op.drop_index(op.f("ix_service_link_to_service_id"), table_name="service_link")
    op.drop_index(op.f("ix_service_link_from_service_id"), table_name="service_link")
    op.drop_table("service_link")
