"""Catalogue text search: the sessions of the few actions a word matches, read from a covering index.

Replaces the single-column index of the action's foreign key by one that leads with the same column.

Revision ID: b5d1e9f3a726
Revises: a8d2f4c6e135
Create Date: 2026-11-30
"""

from alembic import op

revision = "b5d1e9f3a726"
down_revision = "a8d2f4c6e135"
branch_labels = None
depends_on = None

COLUMNS = [
    "action_id",
    "start_date",
    "opco_id",
    "status",
    "provider_id",
    "region_code",
    "capacity_max",
    "seats_held",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_training_sessions_by_action", "training_sessions", COLUMNS)
    op.drop_index("ix_training_sessions_action_id", table_name="training_sessions")


def downgrade() -> None:
    op.create_index("ix_training_sessions_action_id", "training_sessions", ["action_id"])
    op.drop_index("ix_training_sessions_by_action", table_name="training_sessions")
