"""offer window in working hours, headcount kept with its year

Revision ID: b3d7e1f4c806
Revises: a9e4c2d1b605
Create Date: 2026-11-30 06:40:00

- companies.headcount_year: the year whose annual average the headcount is (« effectif moyen annuel de
  l'année N-1 »). Existing rows get the year before the one the company signed up in (the headcount typed
  at sign-up was last year's), or the current year − 1 when that date is unknown.
- The waiting-list offer window (opcos.waitlist_offer_hours) keeps its number of hours; only the way it is
  counted changes (working hours, in services.calendar), so no column changes for it.
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3d7e1f4c806"
down_revision = "a9e4c2d1b605"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("headcount_year", sa.Integer(), nullable=True))

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT companies.id, organisations.created_at FROM companies "
            "JOIN organisations ON organisations.id = companies.id"
        )
    ).fetchall()
    fallback = date.today().year - 1
    for company_id, created_at in rows:
        if isinstance(created_at, str):  # SQLite gives the stored text
            created_at = created_at[:4]
            year = int(created_at) - 1 if created_at.isdigit() else fallback
        else:
            year = created_at.year - 1 if created_at is not None else fallback
        bind.execute(
            sa.text("UPDATE companies SET headcount_year = :year WHERE id = :id"),
            {"year": year, "id": company_id},
        )

    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.alter_column("headcount_year", existing_type=sa.Integer(), nullable=False)


def downgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("headcount_year")
