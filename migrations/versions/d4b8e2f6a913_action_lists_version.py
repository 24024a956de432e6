"""collective actions: version of their branches, regions and funding shares (per-process cache key)

Revision ID: d4b8e2f6a913
Revises: b5d1e9f3a726
Create Date: 2026-11-30 15:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4b8e2f6a913"
down_revision = "b5d1e9f3a726"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN only (no table rebuild on SQLite: the search triggers of collective_actions stay).
    with op.batch_alter_table("collective_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lists_version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("collective_actions", schema=None) as batch_op:
        batch_op.drop_column("lists_version")
