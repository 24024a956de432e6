"""The OPCO's control of service fait (R6332-26): request a correction of a delivered session.

The OPCO funding a session reads its realisation (services.delivery_pages) and, on an anomaly, asks the
training organisation for a correction with a reason: the session goes back to « réalisée » (delivered →
completed) through the session machine, each closed enrolment is reopened through the enrolment machine,
the organisation is emailed and the request is audited for both organisations. The organisation then closes
the session again (services.delivery), which issues new certificates (services.certificates).
"""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    Enrolment,
    EnrolmentStatus,
    Opco,
    SessionStatus,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.services import audit, enrolment_notices, enrolment_states, outbox, sessions
from marketplace.services.errors import DomainError, NotFound

REASON_MIN = 5
REASON_MAX = 500


def request_correction(
    session: TrainingSession, reason: str | None, actor: User, opco_id: int
) -> TrainingSession:
    """Reopen a delivered session for correction (the funding OPCO only; a reason is required)."""
    if session.opco_id != opco_id:
        raise NotFound("Cette session n'existe pas.")
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        raise DomainError(
            "Indiquez le motif de la correction : il est transmis à l'organisme de formation.", field="reason"
        )
    if len(reason) > REASON_MAX:
        raise DomainError(f"Le motif ne doit pas dépasser {REASON_MAX} caractères.", field="reason")
    if session.status != SessionStatus.DELIVERED:
        raise DomainError(
            "Seule une session clôturée (service fait) peut faire l'objet d'une demande de correction."
        )
    session = sessions.transition(session, "request_correction", actor, reason=reason)
    session.correction_requested_at = utcnow()
    session.correction_reason = reason
    closed = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.CLOSED)
        .order_by(Enrolment.id)
    ).all()
    for enrolment in closed:
        enrolment_states.transition(enrolment, "reopen", actor, actor_org_id=opco_id, reason=reason)
        enrolment.closed_at = None
    audit.record(
        "session.correction_requested",
        organisation_id=opco_id,
        actor=actor,
        obj=session,
        data={"reason": reason, "reopened": len(closed)},
    )
    opco = db.session.get(Opco, opco_id)
    for email in enrolment_notices.provider_contacts(session.provider_id):
        outbox.queue_email(
            email,
            "service_fait_correction",
            organisation_id=session.provider_id,
            session=session,
            opco=opco,
            reason=reason,
        )
    db.session.flush()
    return session


def awaiting_count(opco_id: int) -> int:
    """Sessions of the OPCO's catalogue realised but not yet closed by their organisation (service fait)."""
    return int(
        db.session.scalar(
            select(func.count(TrainingSession.id)).where(
                TrainingSession.opco_id == opco_id, TrainingSession.status == SessionStatus.COMPLETED
            )
        )
        or 0
    )
