"""Editing with moderation: change sets of field changes, and field-level history (HSDS's
``metadata`` object).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _user(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["app_user.id"], name=op.f(f"fk_{table}_{column}_app_user"), ondelete="SET NULL"
    )


def upgrade() -> None:
    op.create_table(
        "change_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _user("author_id", "change_set"),
        _user("decided_by", "change_set"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_set")),
    )
    for column in ("organization_id", "service_id", "author_id", "status"):
        op.create_index(op.f(f"ix_change_set_{column}"), "change_set", [column])
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_set_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=30), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("field_name", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_set_id"], ["change_set.id"],
            name=op.f("fk_change_change_set_id_change_set"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )
    op.create_index(op.f("ix_change_change_set_id"), "change", ["change_set_id"])
    op.create_table(
        "metadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=30), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("last_action_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_action_type", sa.String(length=20), nullable=False),
        sa.Column("field_name", sa.String(length=60), nullable=False),
        sa.Column("previous_value", sa.Text(), nullable=False),
        sa.Column("replacement_value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("change_set_id", sa.Integer(), nullable=True),
        _user("user_id", "metadata"),
        sa.ForeignKeyConstraint(
            ["change_set_id"], ["change_set.id"],
            name=op.f("fk_metadata_change_set_id_change_set"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata")),
    )
    op.create_index(op.f("ix_metadata_service_id"), "metadata", ["service_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_metadata_service_id"), table_name="metadata")
    op.drop_table("metadata")
    op.drop_index(op.f("ix_change_change_set_id"), table_name="change")
    op.drop_table("change")
    for column in ("status", "author_id", "service_id", "organization_id"):
        op.drop_index(op.f(f"ix_change_set_{column}"), table_name="change_set")
    op.drop_table("change_set")
