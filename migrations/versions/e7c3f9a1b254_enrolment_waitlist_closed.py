"""enrolments: « waitlist_closed », the end of a waiting list when its session starts

Revision ID: e7c3f9a1b254
Revises: d4b8e2f6a913
Create Date: 2026-11-30 19:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e7c3f9a1b254"
down_revision = "d4b8e2f6a913"
branch_labels = None
depends_on = None

_STATUSES = (
    "'pending_approval', 'confirmed', 'waitlisted', 'offered', 'refused', 'cancelled', 'offer_declined', "
    "'offer_expired', 'session_cancelled', 'convoked', 'in_training', 'attended', 'partially_attended', "
    "'absent_excused', 'absent', 'abandoned', 'closed'"
)
OLD_STATUS = f"status IN ({_STATUSES})"
NEW_STATUS = f"status IN ({_STATUSES}, 'waitlist_closed')"
OLD_LIVE = "status NOT IN ('refused', 'cancelled', 'offer_declined', 'offer_expired', 'session_cancelled')"
NEW_LIVE = (
    "status NOT IN ('refused', 'cancelled', 'offer_declined', 'offer_expired', 'session_cancelled', "
    "'waitlist_closed')"
)


def _swap(status_check: str, live: str) -> None:
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrolments_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_enrolments_status"), status_check)
        batch_op.drop_index("uq_enrolments_active_employee")
        batch_op.create_index(
            "uq_enrolments_active_employee",
            ["session_id", "employee_id"],
            unique=True,
            sqlite_where=sa.text(live),
            postgresql_where=sa.text(live),
        )


def upgrade():
    _swap(NEW_STATUS, NEW_LIVE)


def downgrade():
    # The nearest earlier status that is history too (never live again, so the unique index holds).
    op.execute("UPDATE enrolments SET status = 'offer_expired' WHERE status = 'waitlist_closed'")
    _swap(OLD_STATUS, OLD_LIVE)
