"""What pages and the search read of seats and enrolments: seats left, waiting-list position, the last day
of free cancellation and whether a cancellation is late.

Nothing here locks or writes: whoever takes or frees a seat (services.enrolments, services.waitlist) counts
again under the session lock. Seats left are the capacity minus ``seats_held`` minus the live waiting-list
offers (an expired offer stops counting by itself). The cancellation deadline counts jours ouvrés with the
public holidays of the place of delivery, from the notice period frozen on the enrolment.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, tuple_

from marketplace.extensions import db
from marketplace.models import Enrolment, EnrolmentStatus, TrainingSession
from marketplace.services.calendar import working_days_before
from marketplace.services.places import session_departement

S = EnrolmentStatus


def live_offers(session: TrainingSession, now: datetime) -> int:
    """Waiting-list offers that still hold a seat (an expired offer stops counting by itself)."""
    return int(
        db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.session_id == session.id,
                Enrolment.status == S.OFFERED,
                Enrolment.offer_expires_at > now,
            )
        )
        or 0
    )


def seats_left(session: TrainingSession, now: datetime) -> int:
    return max(0, session.capacity_max - session.seats_held - live_offers(session, now))


def waitlist_position(enrolment: Enrolment) -> int | None:
    if enrolment.status != S.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count(Enrolment.id)).where(
            Enrolment.session_id == enrolment.session_id,
            Enrolment.status == S.WAITLISTED,
            tuple_(Enrolment.waitlisted_at, Enrolment.id) < tuple_(enrolment.waitlisted_at, enrolment.id),
        )
    )
    return int(ahead or 0) + 1


def cancellation_deadline(target: TrainingSession | Enrolment) -> date:
    """Last day of free cancellation: N jours ouvrés before the first day.

    For a session: the action's current notice period (what a new enrolment would get). For an enrolment:
    the notice period frozen when it was made. Public holidays are those of the place of delivery
    (Alsace-Moselle, overseas départements have their own).
    """
    if isinstance(target, Enrolment):
        session = target.session
        days = (
            target.cancellation_days
            if target.cancellation_days is not None
            else session.action.cancellation_days
        )
        company = target.company
    else:
        session, days, company = target, target.action.cancellation_days, None
    return working_days_before(session.start_date, days, session_departement(session, company))


def is_late_cancellation(enrolment: Enrolment, today: date) -> bool:
    """Late when past the deadline, for a seat actually held; a postponement frees earlier enrolments."""
    session = enrolment.session
    if enrolment.status not in S.SEAT_HOLDING:
        return False
    if session.postponed_at is not None and enrolment.created_at <= session.postponed_at:
        return False
    return today > cancellation_deadline(enrolment)
