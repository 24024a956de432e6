"""Evaluation of the responses to a call for tenders (OPCO side): who reads and evaluates them, and their
admissibility.

Rules held here:

- The OPCO reads the responses to its own tenders only, and only once the submission deadline has passed.
- Admissibility comes first, while the tender is under analysis: automatic checks (Qualiopi « actions de
  formation » valid at the submission deadline, NDA present, every required document attached) and a manual
  checklist are stored on the response; a response cannot be declared admissible while a check fails, and an
  inadmissible one needs a reason.

Split by sub-domain: the scoring (conflict-of-interest statement, score sheets, weighted scores, ranking and
the rule that seals them) is in ``evaluation_scores``, the award of the lots in ``evaluation_award``, the
evaluation page's read model in ``evaluation_pages``.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import date_fr, of_name, to_paris
from marketplace.models import (
    Membership,
    Opco,
    ResponseStatus,
    Tender,
    TenderDocumentKind,
    TenderLot,
    TenderResponse,
    TenderStatus,
    TrainingProvider,
    User,
)
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.identifiers import qualiopi_is_valid
from marketplace.services.roles import Perm, has_permission
from marketplace.services.tender_inputs import refuse_control
from marketplace.services.tender_states import response_transition
from marketplace.services.tenders import deadline_passed

R = ResponseStatus

# Automatic admissibility checks, in the order they are shown.
AUTOMATIC_CHECKS = {
    "qualiopi": "Certificat Qualiopi « Actions de formation » valide à la date limite de dépôt",
    "nda": "Numéro de déclaration d'activité (NDA) renseigné",
    "documents": "Toutes les pièces obligatoires sont jointes",
}
# The manual checklist the OPCO ticks while reading the response.
MANUAL_CHECKLIST = {
    "specific_memoir": "Mémoire technique spécifique au lot",
    "prices_conform": "Prix conformes au bordereau",
    "readable": "Pièces lisibles",
}
# Responses the OPCO may read once the deadline has passed (drafts and withdrawn ones stay with their author).
RECEIVED = (R.SUBMITTED, R.ADMISSIBLE, R.INADMISSIBLE, R.RETAINED, R.NOT_RETAINED)
# Responses that take part in the scoring and the ranking.
SCORED = (R.ADMISSIBLE, R.RETAINED, R.NOT_RETAINED)

MAX_REASON = 500


# --- Access and deadlines -------------------------------------------------------------------------------


def deadline_date(tender: Tender) -> date:
    """The submission deadline as a Paris calendar day (Qualiopi is checked on that day)."""
    return to_paris(tender.submission_deadline).date()


def check_owner(tender: Tender, opco: Opco) -> None:
    if tender.opco_id != opco.id:
        raise NotFound("Cet appel d'offres n'existe pas dans votre espace.")


def check_readable(tender: Tender, now: datetime) -> None:
    if not deadline_passed(tender, now):
        raise DomainError(
            f"Les réponses ne peuvent être lues qu'après la date limite de dépôt ({_deadline_text(tender)})."
        )


def _deadline_text(tender: Tender) -> str:
    if tender.submission_deadline is None:
        return "non fixée"
    local = to_paris(tender.submission_deadline)
    return f"{local:%d/%m/%Y} à {local:%H}h{local:%M}"


def check_under_analysis(tender: Tender, doing: str) -> None:
    if tender.status == TenderStatus.UNDER_ANALYSIS:
        return
    if tender.status == TenderStatus.CLOSED:
        raise DomainError(
            f"Commencez l'analyse de l'appel d'offres (bouton « Commencer l'analyse ») avant {doing}."
        )
    raise DomainError(
        f"Impossible {doing} : l'appel d'offres est « {tender.status_label} », il doit être « En analyse »."
    )


def opco_role_of(user: User, opco_id: int) -> str | None:
    """The role ``user`` holds in the OPCO (None when not a member): who may evaluate, who manages."""
    return db.session.scalar(
        select(Membership.role).where(Membership.organisation_id == opco_id, Membership.user_id == user.id)
    )


def is_evaluator(user: User, opco_id: int) -> bool:
    """Whether ``user`` belongs to the OPCO with a role allowed to evaluate tenders."""
    member_role = opco_role_of(user, opco_id)
    return member_role is not None and has_permission("opco", member_role, Perm.EVALUATE_TENDERS)


def check_evaluator(user: User, tender: Tender) -> None:
    if not is_evaluator(user, tender.opco_id):
        raise DomainError(
            "Seuls les membres de l'OPCO autorisés à évaluer les appels d'offres peuvent noter les réponses."
        )


# --- Reading the responses ------------------------------------------------------------------------------


def received_responses(tender: Tender, now: datetime) -> list[TenderResponse]:
    """The responses the OPCO may read (none before the deadline), by lot then submission time."""
    if not deadline_passed(tender, now):
        return []
    return list(
        db.session.scalars(
            select(TenderResponse)
            .join(TenderLot, TenderLot.id == TenderResponse.lot_id)
            .where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED))
            .order_by(TenderLot.number, TenderResponse.submitted_at, TenderResponse.id)
        )
    )


def candidates(tender: Tender) -> list[str]:
    """Names of the organisations that submitted a response (the people an evaluator declares no link with)."""
    names = db.session.scalars(
        select(TrainingProvider.name)
        .join(TenderResponse, TenderResponse.provider_id == TrainingProvider.id)
        .where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED))
        .distinct()
    )
    return sorted(names, key=str.lower)


# --- Admissibility --------------------------------------------------------------------------------------


def missing_documents(response: TenderResponse, tender: Tender) -> list[str]:
    """French labels of the documents the tender requires and the response lacks."""
    attached = {d.kind for d in response.documents}
    return [
        TenderDocumentKind.LABELS.get(code, code)
        for code in tender.required_documents or []
        if code not in attached
    ]


def automatic_checks(response: TenderResponse, tender: Tender) -> dict[str, bool]:
    """Qualiopi « actions de formation » valid on the deadline day, NDA of 11 digits, required documents."""
    provider = response.provider
    return {
        "qualiopi": qualiopi_is_valid(
            provider.qualiopi_expires_on, deadline_date(tender), provider.qualiopi_category_list
        ),
        "nda": bool(re.fullmatch(r"\d{11}", provider.nda or "")),
        "documents": not missing_documents(response, tender),
    }


def check_details(response: TenderResponse, tender: Tender) -> dict[str, str]:
    """A short French explanation for each failed automatic check."""
    provider = response.provider
    details = {}
    checks = automatic_checks(response, tender)
    if not checks["qualiopi"]:
        if "actions_formation" not in provider.qualiopi_category_list:
            details["qualiopi"] = "le certificat ne couvre pas la catégorie « Actions de formation »"
        else:
            details["qualiopi"] = (
                f"certificat expiré le {date_fr(provider.qualiopi_expires_on)}, "
                f"avant la date limite du {date_fr(deadline_date(tender))}"
            )
    if not checks["nda"]:
        details["nda"] = "aucun numéro de déclaration d'activité valide (11 chiffres)"
    if not checks["documents"]:
        details["documents"] = "manquant : " + ", ".join(missing_documents(response, tender))
    return details


def decide_admissibility(
    response: TenderResponse,
    actor: User,
    opco: Opco,
    *,
    admissible: bool,
    checklist: dict[str, bool],
    reason: str | None,
    now: datetime,
) -> None:
    """Declare a submitted response admissible or inadmissible (with a reason), storing every check.

    Admissible needs every automatic check passed and the whole manual checklist ticked.
    """
    tender = response.tender
    check_owner(tender, opco)
    check_readable(tender, now)
    check_under_analysis(tender, "de statuer sur la recevabilité des réponses")
    if response.status != R.SUBMITTED:
        raise DomainError(
            f"La recevabilité de la réponse {of_name(response.provider.name)} est déjà décidée "
            f"(« {response.status_label} »)."
        )
    automatic = automatic_checks(response, tender)
    manual = {code: bool((checklist or {}).get(code)) for code in MANUAL_CHECKLIST}
    refuse_control(reason, "reason")
    reason = " ".join((reason or "").split()) or None
    if reason and len(reason) > MAX_REASON:
        raise DomainError(f"Le motif ne peut pas dépasser {MAX_REASON} caractères.", field="reason")
    if admissible:
        failed = [AUTOMATIC_CHECKS[code] for code, ok in automatic.items() if not ok]
        if failed:
            details = check_details(response, tender)
            raise DomainError(
                "Cette réponse ne peut pas être déclarée recevable : "
                + " ; ".join(f"{AUTOMATIC_CHECKS[c]} ({details[c]})" for c, ok in automatic.items() if not ok)
                + ". Déclarez-la irrecevable en indiquant le motif."
            )
        unticked = [MANUAL_CHECKLIST[code] for code, ok in manual.items() if not ok]
        if unticked:
            raise DomainError(
                "Pour déclarer la réponse recevable, cochez chaque point de la vérification : "
                + ", ".join(f"« {label} »" for label in unticked)
                + ". Sinon, déclarez-la irrecevable en indiquant le motif.",
                field="checklist",
            )
        event = "declare_admissible"
    else:
        if not reason:
            raise DomainError("Indiquez le motif d'irrecevabilité.", field="reason")
        event = "declare_inadmissible"
    response.admissibility_checks = {"automatic": automatic, "manual": manual}
    response.admissibility_reason = None if admissible else reason
    response.checked_by_id = actor.id
    response.checked_at = now
    response_transition(response, event, actor, actor_org_id=opco.id, reason=None if admissible else reason)
