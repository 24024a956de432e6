"""Catalogue search at national scale: the OPCO's published actions and its sessions by price, from indexes.

Revision ID: c4e8a2f6b913
Revises: f2b6d8a4c319
Create Date: 2026-11-30
"""

from alembic import op

revision = "c4e8a2f6b913"
down_revision = "ed0957dc104d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_collective_actions_listing",
        "collective_actions",
        ["opco_id", "status", "id"],
        postgresql_include=["theme_code", "modality", "duration_hours", "title"],
    )
    op.create_index(
        "ix_training_sessions_by_price",
        "training_sessions",
        ["opco_id", "price_cents", "start_date", "id"],
        postgresql_include=["status", "action_id", "provider_id", "region_code", "capacity_max", "seats_held"],
    )


def downgrade() -> None:
    op.drop_index("ix_training_sessions_by_price", table_name="training_sessions")
    op.drop_index("ix_collective_actions_listing", table_name="collective_actions")
