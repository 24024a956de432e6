"""trainee document links

A trainee's personal link to their certificate and attestation: only the token's SHA-256 is stored.

Revision ID: d8f3b5a1c264
Revises: d8f3a5c1e907
Create Date: 2026-11-30 08:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8f3b5a1c264"
down_revision = "d8f3a5c1e907"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trainee_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_trainee_links_enrolment_id_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainee_links")),
        sa.UniqueConstraint("enrolment_id", name=op.f("uq_trainee_links_enrolment_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_trainee_links_token_hash")),
    )


def downgrade():
    op.drop_table("trainee_links")
