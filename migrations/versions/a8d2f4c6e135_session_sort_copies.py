"""Catalogue sorted by title or duration from an index: the sessions carry copies of their action's title and
duration (kept by the model, see models/training_session.py), filled here, and an index on each; the index by
price covering on SQLite too.

Only columns are added to ``training_sessions`` (no table rebuilt, even on SQLite), so the text-search
triggers on ``collective_actions`` and ``organisations`` are untouched.

Revision ID: a8d2f4c6e135
Revises: c7e3a9d1f482
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "a8d2f4c6e135"
down_revision = "c7e3a9d1f482"
branch_labels = None
depends_on = None

FILTERED = [
    "start_date",
    "id",
    "status",
    "action_id",
    "provider_id",
    "region_code",
    "capacity_max",
    "seats_held",
]


def upgrade() -> None:
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_title", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("action_duration_hours", sa.Numeric(6, 2), nullable=False, server_default="0")
        )
    # Sessions by price: the filtered columns become keys (PostgreSQL had them as INCLUDE), so that SQLite too
    # reads this index alone instead of looking up each session's row.
    op.drop_index("ix_training_sessions_by_price", table_name="training_sessions")
    op.create_index("ix_training_sessions_by_price", "training_sessions", ["opco_id", "price_cents", *FILTERED])
    # The indexes before the backfill: on PostgreSQL an index built after the UPDATE in the same transaction
    # meets its broken HOT chains and stays unusable until every transaction older than it has ended.
    op.create_index("ix_training_sessions_by_title", "training_sessions", ["opco_id", "action_title", *FILTERED])
    op.create_index(
        "ix_training_sessions_by_duration", "training_sessions", ["opco_id", "action_duration_hours", *FILTERED]
    )
    # UPDATE … FROM: PostgreSQL, and SQLite ≥ 3.33.
    op.execute(
        "UPDATE training_sessions SET action_title = a.title, action_duration_hours = a.duration_hours "
        "FROM collective_actions AS a WHERE a.id = training_sessions.action_id"
    )
    if op.get_bind().dialect.name == "postgresql":  # see models/training_session.py, ACTION_OPCO_STATISTICS
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS st_training_sessions_action_opco (dependencies) "
            "ON action_id, opco_id FROM training_sessions"
        )
        op.execute("ANALYZE training_sessions")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_training_sessions_action_opco")
    op.drop_index("ix_training_sessions_by_duration", table_name="training_sessions")
    op.drop_index("ix_training_sessions_by_title", table_name="training_sessions")
    op.drop_index("ix_training_sessions_by_price", table_name="training_sessions")
    op.create_index(
        "ix_training_sessions_by_price",
        "training_sessions",
        ["opco_id", "price_cents", "start_date", "id"],
        postgresql_include=["status", "action_id", "provider_id", "region_code", "capacity_max", "seats_held"],
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_column("action_duration_hours")
        batch_op.drop_column("action_title")
