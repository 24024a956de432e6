"""outbox messages written at delivery: what they show, by reference

Revision ID: c7e3a9d1f482
Revises: f2b6d8a4c319
Create Date: 2026-11-30 11:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e3a9d1f482"
down_revision = "c7e4a9b2d815"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("render_context", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("render_context")
