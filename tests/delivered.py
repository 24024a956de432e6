"""Delivered sessions for the tests of certificates, service fait control and retention.

The closing itself (attendance → outcome → service fait) is built elsewhere (services.delivery); these tests
start after it: the session is set « delivered » and each enrolment « closed » with its frozen outcome and
minutes, as the closing leaves them.
"""

from __future__ import annotations

from datetime import timedelta

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import utcnow


def delivered_session(
    make,
    trainees,
    *,
    action=None,
    provider=None,
    opco_code: str = "akto",
    status: str = "delivered",
    days_ago: int = 40,
    closed: bool = True,
):
    """A session that ended ``days_ago`` days before today, with one enrolment per ``trainees`` entry
    ``(company, employee or None, outcome, attended_minutes)``. Returns ``(session, enrolments)``."""
    action = action or make.action(make.opco(opco_code))
    session = make.session(action, provider, status="open", capacity_max=max(10, len(trainees) + 1))
    enrolments = []
    for company, employee, _outcome, _minutes in trainees:
        enrolments.append(make.enrolment(session, company, employee))
    shift = (paris_today() - timedelta(days=days_ago)) - session.end_date
    for slot in session.slots:
        slot.day += shift
    session.start_date += shift
    session.end_date += shift
    session.registration_deadline += shift
    session.status = status
    if status == "delivered":
        session.delivered_at = utcnow()
    planned = sum(
        (s.end_time.hour * 60 + s.end_time.minute) - (s.start_time.hour * 60 + s.start_time.minute)
        for s in session.slots
    )
    for enrolment, (_company, _employee, outcome, minutes) in zip(enrolments, trainees, strict=True):
        enrolment.outcome = outcome
        enrolment.planned_minutes = planned
        enrolment.attended_minutes = minutes
        enrolment.status = "closed" if closed else outcome
        enrolment.closed_at = utcnow() if closed else None
    db.session.commit()
    return session, enrolments
