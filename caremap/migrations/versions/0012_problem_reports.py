"""Reports that a listing is wrong, and when reports came from each (digested) client.

``problem_report`` holds what a person said is wrong with a listing, for the moderators;
``report_submission`` a keyed digest of each reporting client with the time, to limit reports
per client for an hour.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problem_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["app_user.id"],
            name=op.f("fk_problem_report_resolved_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_report")),
    )
    op.create_index(op.f("ix_problem_report_service_id"), "problem_report", ["service_id"])
    op.create_index(op.f("ix_problem_report_status"), "problem_report", ["status"])
    op.create_table(
        "report_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submission")),
    )
    op.create_index(op.f("ix_report_submission_client"), "report_submission", ["client"])
    op.create_index(op.f("ix_report_submission_at"), "report_submission", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_submission_at"), table_name="report_submission")
    op.drop_index(op.f("ix_report_submission_client"), table_name="report_submission")
    op.drop_table("report_submission")
    op.drop_index(op.f("ix_problem_report_status"), table_name="problem_report")
    op.drop_index(op.f("ix_problem_report_service_id"), table_name="problem_report")
    op.drop_table("problem_report")
