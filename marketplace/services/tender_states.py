"""The states of a call for tenders and of a response, declared once, with one transition function each.

Guards that depend on more than the current state (deadlines, weights totalling 100, admissibility…)
live in the services that call these functions (services/tenders.py, tender_responses.py, evaluation.py,
evaluation_award.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case

from marketplace.models import ResponseStatus, Tender, TenderResponse, TenderStatus, User
from marketplace.services.state import machine

T = TenderStatus
R = ResponseStatus

TENDER = machine(
    "tender",
    T.LABELS,
    publish=(T.DRAFT, T.PUBLISHED, "Publier l'appel d'offres"),
    close=(T.PUBLISHED, T.CLOSED, "Clore les dépôts"),
    start_analysis=(T.CLOSED, T.UNDER_ANALYSIS, "Commencer l'analyse"),
    award=(T.UNDER_ANALYSIS, T.AWARDED, "Attribuer"),
    declare_unsuccessful=((T.CLOSED, T.UNDER_ANALYSIS), T.UNSUCCESSFUL, "Déclarer infructueux"),
)

RESPONSE = machine(
    "tender_response",
    R.LABELS,
    submit=((R.DRAFT, R.WITHDRAWN), R.SUBMITTED, "Déposer la réponse"),
    withdraw=(R.SUBMITTED, R.WITHDRAWN, "Retirer la réponse"),
    declare_admissible=(R.SUBMITTED, R.ADMISSIBLE, "Déclarer recevable"),
    declare_inadmissible=(R.SUBMITTED, R.INADMISSIBLE, "Déclarer irrecevable"),
    retain=(R.ADMISSIBLE, R.RETAINED, "Retenir"),
    reject=(R.ADMISSIBLE, R.NOT_RETAINED, "Ne pas retenir"),
)


def tender_transition(tender: Tender, event: str, actor: User | None, *, reason: str | None = None) -> str:
    """Move the tender (audited under its OPCO); returns the previous status."""
    return TENDER.apply(tender, event, actor, organisation_id=tender.opco_id, reason=reason)


def response_transition(
    response: TenderResponse,
    event: str,
    actor: User | None,
    *,
    actor_org_id: int | None = None,
    reason: str | None = None,
) -> str:
    """Move a response; audited under the acting organisation (the provider, or the OPCO when it decides)."""
    return RESPONSE.apply(
        response, event, actor, organisation_id=actor_org_id or response.provider_id, reason=reason
    )


def effective_status(tender: Tender, now: datetime) -> str:
    """The status a tender has at ``now``: a published tender whose submission deadline has come is closed.

    Pages and rules read this, so a tender shows and behaves as closed (« Clos ») from its deadline on, and
    reading never writes. The stored status catches up when the ``close-tenders`` command runs, or when a
    POST that needs it (start the analysis, declare unsuccessful) closes it under the tender's row lock.
    """
    if (
        tender.status == T.PUBLISHED
        and tender.submission_deadline is not None
        and tender.submission_deadline <= now
    ):
        return T.CLOSED
    return tender.status


def effective_status_sql(now: datetime):
    """:func:`effective_status` as an SQL expression (for filters, counts and order in lists)."""
    return case(
        (and_(Tender.status == T.PUBLISHED, Tender.submission_deadline <= now), T.CLOSED), else_=Tender.status
    )
