"""convocations: which convocation document was sent to which trainee, for which schedule

One row per convocation issued (the PDF is a document of kind « convocation »): the hash of the schedule it
was made for, so that a postponement calls for a new one, and the hash of the trainee's download token.

Revision ID: d8f3b1c5a702
Revises: d8f3b5a1c264
Create Date: 2026-11-30 08:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8f3b1c5a702'
down_revision = 'd8f3b5a1c264'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('convocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('schedule_key', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_convocations_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_convocations_employee_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_convocations_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_convocations_session_id_training_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_convocations')),
    sa.UniqueConstraint('document_id', name=op.f('uq_convocations_document_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_convocations_token_hash'))
    )
    with op.batch_alter_table('convocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_convocations_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_convocations_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('convocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_convocations_session_id'))
        batch_op.drop_index(batch_op.f('ix_convocations_enrolment_id'))
    op.drop_table('convocations')
