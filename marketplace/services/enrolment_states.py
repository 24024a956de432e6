"""The enrolment's states (machine A of the domain research), declared once; ``transition`` is the one way to
change an enrolment's status: up to "confirmed" and the cancellations, then convocation, training, outcome and
closing. It also keeps the session's ``seats_held`` in step; the caller holds the session lock
(``enrolments.locked``).
"""

from __future__ import annotations

from marketplace.models import Enrolment, EnrolmentStatus, User
from marketplace.services import audit, budgets
from marketplace.services.state import machine

S = EnrolmentStatus

ENROLMENT = machine(
    "enrolment",
    S.LABELS,
    approve=(S.PENDING_APPROVAL, S.CONFIRMED, "Valider l'inscription"),
    refuse=(S.PENDING_APPROVAL, S.REFUSED, "Refuser l'inscription"),
    cancel=(S.ACTIVE, S.CANCELLED, "Annuler l'inscription"),
    offer=(S.WAITLISTED, S.OFFERED, "Proposer la place libérée"),
    accept_offer=(S.OFFERED, S.CONFIRMED, "Accepter la place"),
    accept_offer_for_approval=(S.OFFERED, S.PENDING_APPROVAL, "Accepter la place"),
    decline_offer=(S.OFFERED, S.OFFER_DECLINED, "Décliner la place"),
    expire_offer=(S.OFFERED, S.OFFER_EXPIRED, "Expiration de la proposition"),
    session_cancelled=(S.ACTIVE, S.SESSION_CANCELLED, "Annulation de la session"),
    close_waitlist=((S.WAITLISTED, S.OFFERED), S.WAITLIST_CLOSED, "Clôture de la liste d'attente"),
    # After confirmation: convocation, the training, its outcome from the attendance, closing (service fait).
    convoke=(S.CONFIRMED, S.CONVOKED, "Convoquer"),
    start_training=((S.CONFIRMED, S.CONVOKED), S.IN_TRAINING, "Début de la formation"),
    attended=((S.IN_TRAINING, *S.OUTCOMES), S.ATTENDED, "Formation suivie en totalité"),
    partially_attended=((S.IN_TRAINING, *S.OUTCOMES), S.PARTIALLY_ATTENDED, "Formation suivie en partie"),
    absent_excused=((S.IN_TRAINING, *S.OUTCOMES), S.ABSENT_EXCUSED, "Absence justifiée"),
    absent=((S.IN_TRAINING, *S.OUTCOMES), S.ABSENT, "Absence non justifiée"),
    abandon=((S.IN_TRAINING, *S.OUTCOMES), S.ABANDONED, "Abandon en cours de formation"),
    close=(S.OUTCOMES, S.CLOSED, "Clôturer (service fait)"),
    reopen=(S.CLOSED, S.IN_TRAINING, "Rouvrir pour correction"),
)


def transition(
    enrolment: Enrolment,
    event: str,
    actor: User | None,
    *,
    actor_org_id: int | None = None,
    reason: str | None = None,
) -> str:
    """Apply ``event`` to the enrolment (caller holds the session lock); keeps ``seats_held`` in step.

    The audit event is written for the company, and for the acting organisation when it is another one
    (the OPCO approving, the training organisation cancelling its session).
    """
    session = enrolment.session
    previous = ENROLMENT.apply(enrolment, event, actor, organisation_id=enrolment.company_id, reason=reason)
    session.seats_held += int(enrolment.status in S.SEAT_HOLDING) - int(previous in S.SEAT_HOLDING)
    if actor_org_id is not None and actor_org_id != enrolment.company_id:
        audit.record(
            f"enrolment.{event}",
            organisation_id=actor_org_id,
            actor=actor,
            obj=enrolment,
            data={"from": previous, "to": enrolment.status, **({"reason": reason} if reason else {})},
        )
    enrolment.status_reason = reason
    budgets.on_transition(enrolment, previous)  # the envelope's committed/realised amounts (services.budgets)
    return previous
