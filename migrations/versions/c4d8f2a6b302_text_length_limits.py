"""text length limits: the free texts people type become bounded VARCHARs (marketplace/models/limits.py)

Revision ID: c4d8f2a6b302
Revises: e2b9d4c7a803
Create Date: 2026-11-30 05:30:00

A text longer than its new bound (only possible before this revision, e.g. a pasted 10 MB « objectifs »)
is cut to the bound first, so that PostgreSQL can change the type; SQLite rebuilds the tables (batch mode).
The downgrade turns the columns back into unbounded TEXT and loses nothing.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8f2a6b302'
down_revision = 'e2b9d4c7a803'
branch_labels = None
depends_on = None

# table -> [(column, bound, nullable)]
BOUNDED = {
    'collective_actions': [
        ('objectives', 10000, False),
        ('programme', 10000, False),
        ('prerequisites', 10000, False),
        ('target_public', 10000, False),
    ],
    'tenders': [('context', 10000, False), ('specification', 10000, False)],
    'tender_questions': [('question', 3000, False), ('answer', 6000, True)],
    'tender_responses': [('programme', 20000, False), ('team', 20000, False)],
    'scores': [('justification', 2000, False)],
    'training_sessions': [('notes', 5000, False)],
}


def upgrade():
    for table, columns in BOUNDED.items():
        for column, bound, _nullable in columns:
            op.execute(
                f"UPDATE {table} SET {column} = substr({column}, 1, {bound}) WHERE length({column}) > {bound}"
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, bound, nullable in columns:
                batch_op.alter_column(
                    column, existing_type=sa.Text(), type_=sa.String(length=bound), existing_nullable=nullable
                )


def downgrade():
    for table, columns in reversed(list(BOUNDED.items())):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, bound, nullable in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(length=bound), type_=sa.Text(), existing_nullable=nullable
                )
