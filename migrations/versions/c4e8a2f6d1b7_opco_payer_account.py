"""opco payer account (debtor of SEPA credit transfers)

Revision ID: c4e8a2f6d1b7
Revises: e7a1c3f5b908
Create Date: 2026-11-30 09:25:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e8a2f6d1b7"
down_revision = "e7a1c3f5b908"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN only (no table rebuild): opcos keeps everything else as it is.
    op.add_column("opcos", sa.Column("payer_iban", sa.String(length=34), nullable=True))
    op.add_column("opcos", sa.Column("payer_bic", sa.String(length=11), nullable=True))
    op.add_column("opcos", sa.Column("payer_account_holder", sa.String(length=70), nullable=True))


def downgrade():
    with op.batch_alter_table("opcos", schema=None) as batch_op:
        batch_op.drop_column("payer_account_holder")
        batch_op.drop_column("payer_bic")
        batch_op.drop_column("payer_iban")
