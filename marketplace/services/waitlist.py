"""The waiting list: freed seats offered in turn, offers accepted, declined or expired.

Whoever finds no seat left when enrolling waits (``enrolments.enrol``). Every freed seat is offered to the
next people in order, under the session lock; an offer holds its seat for the OPCO's window, counted in
working hours with the holidays of the place of delivery, so an expired offer stops counting by itself and
``expire_offers`` (`flask expire-offers`) only records the expiry and offers the seat to the next person.
Waiting-list places do not use the company's caps: accepting an offer checks them again, under the company
lock then the session lock (the order of services.enrolments), and needs the OPCO to be able to fund the
session. The list is served until the session starts (services.session_enrolments then closes it).

Statuses change through ``enrolment_states.transition``; ``enrolments`` offers the seat freed by a cancellation
or a refusal, importing this module lazily (circular).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import datetime_fr, paris_today
from marketplace.models import Enrolment, EnrolmentStatus, SessionStatus, TrainingSession, User, utcnow
from marketplace.services import (
    budgets,
    eligibility,
    enrolment_notices,
    enrolment_reads,
    enrolment_states,
    enrolments,
)
from marketplace.services.calendar import working_hours_after
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_session
from marketplace.services.places import session_departement

S = EnrolmentStatus

# Sessions whose waiting list is still served when a seat frees up.
_SERVING_WAITLIST = (
    SessionStatus.OPEN,
    SessionStatus.CLOSED,
    SessionStatus.CONFIRMED,
    SessionStatus.POSTPONED,
)


def offer_free_seats(session: TrainingSession, actor: User | None, *, now: datetime | None = None) -> int:
    """Offer every free seat to the next people on the waiting list (caller holds the session lock).

    An offer holds the seat for the OPCO's offer window (48 h by default), counted in working hours (weekends
    and the public holidays of where the training takes place do not count), and is emailed to the company.
    """
    now = now or utcnow()
    if session.status not in _SERVING_WAITLIST or paris_today(now) >= session.start_date:
        return 0
    free = enrolment_reads.seats_left(session, now)
    if free <= 0:
        return 0
    hours = session.action.opco.waitlist_offer_hours
    waiting = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == S.WAITLISTED)
        .order_by(Enrolment.waitlisted_at, Enrolment.id)
        .limit(free)
    ).all()
    for enrolment in waiting:
        enrolment_states.transition(enrolment, "offer", actor)
        enrolment.offer_expires_at = offer_deadline(session, enrolment.company, now, hours)
        enrolment_notices.notify(enrolment, "enrolment_offer")
    return len(waiting)


def offer_deadline(session: TrainingSession, company, now: datetime, hours: int) -> datetime:
    """End of an offer made at ``now``: ``hours`` working hours later, with the holidays of the place of
    delivery (a company must not lose a seat over a weekend or a public holiday)."""
    return working_hours_after(now, hours, session_departement(session, company))


def accept_offer(enrolment: Enrolment, actor: User, *, now: datetime | None = None) -> Enrolment:
    """The company takes the offered seat (awaiting approval when the action requires it)."""
    now = now or utcnow()
    enrolment = enrolments.locked(enrolment, with_company=True)  # the caps span the action's other sessions
    if enrolment.status != S.OFFERED:
        raise DomainError("Aucune place n'est proposée pour cette inscription.")
    if not enrolment.offer_is_live(now):
        raise DomainError(
            f"La proposition a expiré le {datetime_fr(enrolment.offer_expires_at)} : "
            "la place a été proposée à la personne suivante."
        )
    # Waiting-list places do not count against the caps, so taking the seat must fit in them now
    # (the caps that applied when the enrolment was made).
    counts = eligibility.company_counts(enrolment.company, [enrolment.session])
    reasons = eligibility.cap_blockers(
        enrolment.session,
        counts,
        cap_per_session=enrolment.cap_per_session,
        cap_per_year=enrolment.cap_per_year,
    )
    if reasons:
        raise DomainError(reasons[0])
    enrolments.check_funding(enrolment.session)
    approval = enrolment.session.action.requires_approval or budgets.needs_approval(enrolment)
    event = "accept_offer_for_approval" if approval else "accept_offer"
    enrolment_states.transition(enrolment, event, actor)
    enrolment.offer_expires_at = None
    enrolment_notices.notify_created(enrolment)
    enrolment_notices.notify_provider(enrolment.session, [enrolment], "provider_enrolments_new")
    enrolment_notices.convoke_if_due(enrolment, now=now)
    return enrolment


def decline_offer(enrolment: Enrolment, actor: User, *, now: datetime | None = None) -> Enrolment:
    enrolment = enrolments.locked(enrolment)
    enrolment_states.transition(enrolment, "decline_offer", actor)
    offer_free_seats(enrolment.session, actor, now=now)
    return enrolment


def expire_offers(*, now: datetime | None = None) -> int:
    """Close expired offers and offer the seats to the next people (run by `flask expire-offers`).

    Commits once per session so that a long run never holds many locks.
    """
    now = now or utcnow()
    session_ids = list(
        db.session.scalars(
            select(Enrolment.session_id)
            .where(Enrolment.status == S.OFFERED, Enrolment.offer_expires_at <= now)
            .distinct()
        )
    )
    expired = 0
    for session_id in session_ids:
        session = lock_session(session_id)
        for enrolment in db.session.scalars(
            select(Enrolment).where(
                Enrolment.session_id == session_id,
                Enrolment.status == S.OFFERED,
                Enrolment.offer_expires_at <= now,
            )
        ):
            enrolment_states.transition(enrolment, "expire_offer", None)
            enrolment_notices.notify(enrolment, "enrolment_offer_expired")
            expired += 1
        offer_free_seats(session, None, now=now)
        db.session.commit()
    return expired
