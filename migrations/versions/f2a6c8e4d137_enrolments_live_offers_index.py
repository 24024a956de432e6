"""enrolments: index of the OPCO's live waiting-list offers (catalogue « places disponibles » filter)

Revision ID: f2a6c8e4d137
Revises: e7c3f9a1b254
Create Date: 2026-11-30 20:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2a6c8e4d137"
down_revision = "e7c3f9a1b254"
branch_labels = None
depends_on = None

OFFERED = "status = 'offered'"


def upgrade():
    # CREATE INDEX only (no table rebuild on SQLite).
    op.create_index(
        "ix_enrolments_live_offers",
        "enrolments",
        ["opco_id", "offer_expires_at", "session_id"],
        unique=False,
        sqlite_where=sa.text(OFFERED),
        postgresql_where=sa.text(OFFERED),
    )


def downgrade():
    op.drop_index("ix_enrolments_live_offers", table_name="enrolments")
