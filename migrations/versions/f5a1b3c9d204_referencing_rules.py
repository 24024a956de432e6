"""referencing rules: referencings suspended for Qualiopi, the Qualiopi certificate's PDF

Revision ID: f5a1b3c9d204
Revises: c4d8f2a6b302
Create Date: 2026-11-30 06:10:00

A referencing suspended automatically because its organisation's Qualiopi certificate lapsed is flagged, so a
renewed certificate reactivates it (and not one an OPCO suspended by hand). Existing rows: the automatic
suspension always wrote the reason « Certificat Qualiopi … » (services.referencing_registry), so those are
flagged. The organisation's certificate gets its PDF (storage key and original name), given at renewal.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f5a1b3c9d204'
down_revision = 'c4d8f2a6b302'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referencings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('suspended_for_qualiopi', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table('training_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qualiopi_document_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('qualiopi_document_name', sa.String(length=200), nullable=True))

    op.execute(sa.text(
        "UPDATE referencings SET suspended_for_qualiopi = :yes "
        "WHERE status = 'suspended' AND status_reason LIKE 'Certificat Qualiopi%'"
    ).bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('training_providers', schema=None) as batch_op:
        batch_op.drop_column('qualiopi_document_name')
        batch_op.drop_column('qualiopi_document_key')
    with op.batch_alter_table('referencings', schema=None) as batch_op:
        batch_op.drop_column('suspended_for_qualiopi')
