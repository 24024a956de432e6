"""scheduled jobs: one row per periodic job, its run lock and its last run

Revision ID: d8f3a5c1e907
Revises: c6e2a8d4f907
Create Date: 2026-11-30 08:30:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8f3a5c1e907"
down_revision = "c6e2a8d4f907"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("running_token", sa.String(length=40), nullable=True),
        sa.Column("running_since", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_result", sa.String(length=500), nullable=True),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("last_trigger", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_scheduled_jobs_name")),
    )


def downgrade():
    op.drop_table("scheduled_jobs")
