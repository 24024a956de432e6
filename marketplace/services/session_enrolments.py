"""What a change of the whole session does to its enrolments (services.sessions calls these).

Cancelled by the training organisation: every live enrolment ends, and each company and trainee is told.
Started: nobody joins from the waiting list any more, so whoever still waits or holds an offer leaves the list
and the company is told. Both work under the session lock alone (no company lock: one session only, see
services.enrolments) and change statuses through ``enrolment_states.transition``, the acting organisation being
the training organisation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Enrolment, EnrolmentStatus, TrainingSession, User, utcnow
from marketplace.services import enrolment_notices, outbox
from marketplace.services.enrolment_states import transition
from marketplace.services.locking import lock_session

S = EnrolmentStatus


def cancel_for_session(
    session: TrainingSession, actor: User | None, reason: str, now: datetime | None = None
) -> int:
    """The session is cancelled: every live enrolment ends, and each company and trainee is told."""
    lock_session(session.id)
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(S.ACTIVE))
    ).all()
    for enrolment in enrolments:
        transition(enrolment, "session_cancelled", actor, actor_org_id=session.provider_id, reason=reason)
        enrolment.cancelled_at = now or utcnow()
        enrolment_notices.notify(enrolment, "enrolment_session_cancelled", reason=reason)
        if enrolment.employee.email and enrolment.employee.erased_at is None:
            outbox.queue_email(
                enrolment.employee.email,
                "enrolment_session_cancelled_trainee",
                organisation_id=enrolment.company_id,
                enrolment=enrolment,
                reason=reason,
            )
    return len(enrolments)


WAITLIST_CLOSED_REASON = "La session a commencé sans qu'une place se libère."


def close_waitlist(session: TrainingSession, actor: User | None) -> int:
    """The session starts: nobody joins it from the waiting list any more, so the people still waiting (or
    offered a seat they have not taken) leave it, and each company is told it may enrol them on another
    session (caller holds the session lock)."""
    waiting = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_((S.WAITLISTED, S.OFFERED)))
        .order_by(Enrolment.id)
    ).all()
    for enrolment in waiting:
        transition(
            enrolment,
            "close_waitlist",
            actor,
            actor_org_id=session.provider_id,
            reason=WAITLIST_CLOSED_REASON,
        )
        enrolment.offer_expires_at = None
        enrolment_notices.notify(enrolment, "enrolment_waitlist_closed")
    return len(waiting)
