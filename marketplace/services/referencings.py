"""Referencings: an OPCO names a training organisation for one of its actions, for a period, at a price.

Rules held here:

- The negotiated price is no higher than the action's ceiling; an organisation whose Qualiopi certificate
  (« actions de formation ») is not valid cannot be referenced; an archived action takes no new referencing.
- A referencing's status changes only through :func:`transition_referencing` (machine ``referencing``);
  suspending or withdrawing needs a reason and tells the OPCO and the companies with people enrolled.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import of_name, paris_today
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Opco,
    Referencing,
    ReferencingStatus,
    SessionStatus,
    TrainingProvider,
    TrainingSession,
    User,
)
from marketplace.services import audit, state
from marketplace.services.errors import DomainError
from marketplace.services.french_numbers import money_ht, parse_euros
from marketplace.services.identifiers import qualiopi_is_valid

REFERENCING_MACHINE = state.machine(
    "referencing",
    ReferencingStatus.LABELS,
    suspend=(("active",), "suspended", "Suspendre"),
    reactivate=(("suspended",), "active", "Réactiver"),
    withdraw=(("active", "suspended"), "withdrawn", "Retirer le référencement"),
    # Used by reference_provider when a withdrawn organisation is referenced again (new period, new price).
    renew=(("withdrawn",), "active", "Référencer à nouveau"),
)

# Events a person may trigger from the interface (``renew`` goes through reference_provider).
REFERENCING_EVENTS = ("suspend", "reactivate", "withdraw")
REASON_REQUIRED = {"suspend", "withdraw"}
# A referencing period outside these years is a typing error (and would overflow date arithmetic).
REFERENCING_DATE_MIN = date(2000, 1, 1)
REFERENCING_DATE_MAX = date(2100, 12, 31)


def live_referencings(action: CollectiveAction) -> list[Referencing]:
    if action.id is None:
        return []
    return list(
        db.session.scalars(
            select(Referencing).where(
                Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
            )
        )
    )


def qualiopi_problem(provider: TrainingProvider, today: date) -> str | None:
    """Why this organisation cannot be referenced today because of its Qualiopi certificate, or None."""
    if "actions_formation" not in provider.qualiopi_category_list:
        return (
            f"{provider.name} n'est pas certifié Qualiopi pour la catégorie « Actions de formation » : "
            "il ne peut pas être référencé."
        )
    if not qualiopi_is_valid(provider.qualiopi_expires_on, today, provider.qualiopi_category_list):
        return (
            f"Le certificat Qualiopi {of_name(provider.name)} a expiré le {provider.qualiopi_expires_on:%d/%m/%Y} : "
            "un organisme sans certificat Qualiopi valide (« Actions de formation ») ne peut pas être référencé."
        )
    return None


def _check_referencing_terms(
    action: CollectiveAction,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    today: date,
) -> None:
    if valid_from is None:
        raise DomainError("Indiquez la date de début du référencement.", field="valid_from")
    if valid_until is None:
        raise DomainError("Indiquez la date de fin du référencement.", field="valid_until")
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not REFERENCING_DATE_MIN <= value <= REFERENCING_DATE_MAX:
            raise DomainError(
                f"Indiquez une date comprise entre {REFERENCING_DATE_MIN.year} et {REFERENCING_DATE_MAX.year}.",
                field=name,
            )
    if valid_until < valid_from:
        raise DomainError(
            "La date de fin doit être postérieure ou égale à la date de début.", field="valid_until"
        )
    if valid_until < today:
        raise DomainError("La date de fin du référencement est déjà passée.", field="valid_until")
    if price_cents is None or price_cents <= 0:
        raise DomainError("Indiquez le prix négocié par stagiaire.", field="price")
    if price_cents > action.price_cents:
        raise DomainError(
            f"Le prix négocié ({money_ht(price_cents)}) dépasse le prix plafond de l'action "
            f"({money_ht(action.price_cents)}).",
            field="price",
        )


def reference_provider(
    action: CollectiveAction,
    provider: TrainingProvider,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> Referencing:
    """Reference a training organisation on an action for a period at a negotiated price (≤ the ceiling).

    The organisation needs a valid Qualiopi certificate for « actions de formation »; an archived action takes
    no new referencing; an organisation already referenced (active or suspended) is refused; one whose
    referencing was withdrawn is referenced again on the same row (new period and price).
    """
    today = today or paris_today()
    if provider is None or db.session.get(TrainingProvider, provider.id) is None:
        raise DomainError(
            "Choisissez un organisme de formation inscrit sur la plateforme.", field="provider_id"
        )
    if action.status == ActionStatus.ARCHIVED:
        raise DomainError("Cette action est archivée : elle ne peut plus recevoir de référencement.")
    problem = qualiopi_problem(provider, today)
    if problem:
        raise DomainError(problem, field="provider_id")
    _check_referencing_terms(action, valid_from, valid_until, price_cents, today)
    existing = db.session.scalar(
        select(Referencing).where(Referencing.action_id == action.id, Referencing.provider_id == provider.id)
    )
    terms = {
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "price_cents": price_cents,
    }
    if existing is not None:
        if existing.status != ReferencingStatus.WITHDRAWN:
            raise DomainError(f"{provider.name} est déjà référencé sur cette action.", field="provider_id")
        existing.valid_from, existing.valid_until, existing.price_cents = valid_from, valid_until, price_cents
        existing.status_reason = None
        REFERENCING_MACHINE.apply(existing, "renew", actor, organisation_id=action.opco_id, data=terms)
        return existing
    referencing = Referencing(
        opco_id=action.opco_id,
        action_id=action.id,
        provider_id=provider.id,
        valid_from=valid_from,
        valid_until=valid_until,
        price_cents=price_cents,
        status=ReferencingStatus.ACTIVE,
    )
    db.session.add(referencing)
    db.session.flush()
    audit.record(
        "catalogue.provider_referenced",
        organisation_id=action.opco_id,
        actor=actor,
        obj=referencing,
        data={"action": action.reference, "provider": provider.name, **terms},
    )
    return referencing


def reference_chosen_provider(
    action: CollectiveAction,
    provider_id: int | None,
    valid_from: date | None,
    valid_until: date | None,
    price: str | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> Referencing:
    """The referencing form: the organisation must be one the form offers for this action (on the platform,
    not already referenced); the price is read as typed (« 1 200,50 »)."""
    provider = None
    if provider_id is not None:
        taken = select(Referencing.provider_id).where(
            Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
        )
        provider = db.session.scalar(
            select(TrainingProvider).where(
                TrainingProvider.id == provider_id, TrainingProvider.id.not_in(taken)
            )
        )
    if provider is None:
        raise DomainError("Choisissez un organisme de formation dans la liste.", field="provider_id")
    price_cents = parse_euros(price, "price", "Le prix négocié")
    return reference_provider(action, provider, valid_from, valid_until, price_cents, actor, today=today)


def change_referencing_terms(
    referencing: Referencing,
    valid_from: date | None,
    valid_until: date | None,
    price: str | None,
    actor: User | None,
    *,
    today: date | None = None,
    pricing: tuple[str | None, str | None, str | None, str | None] | None = None,
) -> None:
    """The referencing edit form: new period and price as typed (« 950 »), and how the organisation invoices
    the OPCO (``pricing``: mode, hourly rate, group price, threshold as typed; None leaves it unchanged)."""
    price_cents = parse_euros(price, "price", "Le prix négocié")
    from marketplace.services import referencing_pricing

    terms = referencing_pricing.terms(*pricing) if pricing is not None else None
    update_referencing(referencing, valid_from, valid_until, price_cents, actor, today=today)
    if terms is not None:
        before = {name: getattr(referencing, name) for name in terms}
        if before != terms:
            for name, value in terms.items():
                setattr(referencing, name, value)
            audit.record(
                "catalogue.referencing_updated",
                organisation_id=referencing.opco_id,
                actor=actor,
                obj=referencing,
                data={"before": before, "after": terms},
            )


def update_referencing(
    referencing: Referencing,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> None:
    """Change the period or the negotiated price of a referencing (not a withdrawn one); audited."""
    if referencing.status == ReferencingStatus.WITHDRAWN:
        raise DomainError(
            "Ce référencement a été retiré : référencez à nouveau l'organisme pour le modifier."
        )
    action = db.session.get(CollectiveAction, referencing.action_id)
    _check_referencing_terms(action, valid_from, valid_until, price_cents, today or paris_today())
    before = {
        "valid_from": referencing.valid_from.isoformat(),
        "valid_until": referencing.valid_until.isoformat(),
        "price_cents": referencing.price_cents,
    }
    referencing.valid_from, referencing.valid_until, referencing.price_cents = (
        valid_from,
        valid_until,
        price_cents,
    )
    after = {
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "price_cents": price_cents,
    }
    if after != before:
        audit.record(
            "catalogue.referencing_updated",
            organisation_id=referencing.opco_id,
            actor=actor,
            obj=referencing,
            data={"before": before, "after": after},
        )


def transition_referencing(
    referencing: Referencing,
    event: str,
    actor: User | None,
    reason: str | None = None,
    *,
    for_qualiopi: bool = False,
) -> str:
    """Suspend, reactivate or withdraw a referencing; suspending and withdrawing need a reason (kept on the row).

    ``for_qualiopi``: the suspension is the automatic one of a lapsed Qualiopi certificate (a renewal lifts it).
    Suspending or withdrawing tells the OPCO's catalogue managers and the companies with people enrolled on
    the organisation's coming sessions of the action: no enrolment or confirmation is possible there any more
    (services.eligibility.funding_blocker).
    """
    if event not in REFERENCING_EVENTS:
        raise DomainError("Cette action n'est pas possible sur un référencement.")
    reason = " ".join((reason or "").split()) or None
    if event in REASON_REQUIRED and not reason:
        label = REFERENCING_MACHINE.transitions[event].label.lower()
        raise DomainError(f"Indiquez le motif pour {label} ce référencement.", field="reason")
    if reason and len(reason) > 300:
        raise DomainError("Le motif ne peut pas dépasser 300 caractères.", field="reason")
    if reason and not reason.isprintable():
        raise DomainError("Le motif contient des caractères non autorisés.", field="reason")
    previous = REFERENCING_MACHINE.apply(
        referencing, event, actor, organisation_id=referencing.opco_id, reason=reason
    )
    referencing.status_reason = reason if event in REASON_REQUIRED else None
    referencing.suspended_for_qualiopi = for_qualiopi and event == "suspend"
    if event in REASON_REQUIRED:
        _notify_referencing_stopped(referencing, event, actor)
    return previous


def _notify_referencing_stopped(referencing: Referencing, event: str, actor: User | None) -> None:
    """Email the OPCO (catalogue managers, but not whoever made the change) and, once per company, whoever
    enrolled people on the organisation's sessions of the action that have not started yet."""
    from marketplace.formatting import paris_today
    from marketplace.models import Enrolment, EnrolmentStatus
    from marketplace.services import accounts, enrolment_notices, outbox
    from marketplace.services.roles import Perm

    today = paris_today()
    concerned = db.session.scalars(
        select(Enrolment)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(
            TrainingSession.referencing_id == referencing.id,
            TrainingSession.start_date >= today,
            TrainingSession.status.not_in((SessionStatus.CANCELLED, SessionStatus.COMPLETED)),
            Enrolment.status.in_(EnrolmentStatus.ACTIVE),
        )
        .order_by(TrainingSession.start_date, Enrolment.company_id, Enrolment.id)
    ).all()
    opco = db.session.get(Opco, referencing.opco_id)
    context = dict(
        referencing=referencing,
        action=referencing.action,
        provider=referencing.provider,
        opco=opco,
        event=event,
        reason=referencing.status_reason,
    )
    by_company: dict[int, list] = {}
    for enrolment in concerned:
        by_company.setdefault(enrolment.company_id, []).append(enrolment)
    skip = actor.email if actor is not None else None
    for email in accounts.member_emails([opco.id], "opco", Perm.MANAGE_CATALOGUE).get(opco.id, []):
        if email != skip:
            outbox.queue_email(
                email,
                "referencing_stopped_opco",
                organisation_id=opco.id,
                enrolments=concerned,
                companies=len(by_company),
                **context,
            )
    for company_id, rows in by_company.items():
        for email in sorted({e for enrolment in rows for e in enrolment_notices.company_contacts(enrolment)}):
            outbox.queue_email(
                email, "referencing_stopped_company", organisation_id=company_id, enrolments=rows, **context
            )


def referenceable_providers(action: CollectiveAction) -> list[TrainingProvider]:
    """Every training organisation on the platform not already referenced (active or suspended) on the action."""
    taken = select(Referencing.provider_id).where(
        Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
    )
    return list(
        db.session.scalars(
            select(TrainingProvider).where(TrainingProvider.id.not_in(taken)).order_by(TrainingProvider.name)
        )
    )


def active_referencings(action_ids: list[int], today: date | None = None) -> dict[int, list[Referencing]]:
    """Referencings active and valid today per action (providers loaded with them), in one query."""
    if not action_ids:
        return {}
    today = today or paris_today()
    rows = db.session.scalars(
        select(Referencing)
        .where(
            Referencing.action_id.in_(action_ids),
            Referencing.status == ReferencingStatus.ACTIVE,
            Referencing.valid_from <= today,
            Referencing.valid_until >= today,
        )
        .order_by(Referencing.action_id, Referencing.id)
    ).all()
    result: dict[int, list[Referencing]] = {}
    for row in rows:
        result.setdefault(row.action_id, []).append(row)
    return result
