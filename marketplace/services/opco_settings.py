"""An OPCO's settings page: the waiting-list offer window, the price its funded shares apply to (HT or TTC),
how it pays (subrogation or direct purchase) and how many days before a session convocations go out. Each
change is audited with the values before and after; enrolments already made keep the figures frozen on them."""

from __future__ import annotations

from marketplace.models import Opco, User
from marketplace.services import audit
from marketplace.services.errors import DomainError


def set_waitlist_offer_hours(opco: Opco, raw_hours: str | int, actor: User) -> None:
    """How long a company has to accept a seat offered from the waiting list (1 hour to 7 days), in working
    hours: only Monday to Friday count, public holidays excluded (services.calendar.working_hours_after)."""
    try:
        hours = int(str(raw_hours).strip())
    except ValueError:
        raise DomainError(
            "Indiquez un nombre entier d'heures, entre 1 et 168.", field="waitlist_offer_hours"
        ) from None
    if not 1 <= hours <= 168:
        raise DomainError(
            "Le délai doit être compris entre 1 heure et 168 heures (7 jours).", field="waitlist_offer_hours"
        )
    previous = opco.waitlist_offer_hours
    opco.waitlist_offer_hours = hours
    audit.record(
        "opco.settings_changed",
        organisation_id=opco.id,
        actor=actor,
        obj=opco,
        data={"waitlist_offer_hours": [previous, hours]},
    )


FUNDING_BASES = {"ht": "prix HT", "ttc": "prix TTC"}
# How the OPCO pays its share to the training organisation (services.invoicing); an action may override it.
FUNDING_FLOWS = {"subrogation": "Subrogation de paiement", "direct_purchase": "Achat direct"}


def update_opco_settings(
    opco: Opco,
    raw_hours: str | int,
    raw_basis: str | None,
    actor: User,
    raw_convocation_days: str | int | None = None,
    raw_funding_flow: str | None = None,
) -> None:
    """The OPCO's settings page: the waiting-list offer window and the price its funded shares apply to
    (HT: the company pays the VAT on the whole price; TTC: the OPCO funds its share of the VAT too), and how
    many days before a session the convocations go out (empty: unchanged).
    An action may override the basis; enrolments already made keep the figures frozen on them."""
    basis = (raw_basis or "").strip().lower() or opco.funding_basis
    if basis not in FUNDING_BASES:
        raise DomainError(
            "Choisissez si la prise en charge porte sur le prix HT ou sur le prix TTC.", field="funding_basis"
        )
    days = _convocation_days(raw_convocation_days, opco.convocation_days)
    flow = (raw_funding_flow or "").strip() or opco.funding_flow
    if flow not in FUNDING_FLOWS:
        raise DomainError("Choisissez « Subrogation de paiement » ou « Achat direct ».", field="funding_flow")
    set_waitlist_offer_hours(opco, raw_hours, actor)
    if flow != opco.funding_flow:
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"funding_flow": [opco.funding_flow, flow]},
        )
        opco.funding_flow = flow
    if days != opco.convocation_days:
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"convocation_days": [opco.convocation_days, days]},
        )
        opco.convocation_days = days
    if basis != opco.funding_basis:
        previous = opco.funding_basis
        opco.funding_basis = basis
        audit.record(
            "opco.settings_changed",
            organisation_id=opco.id,
            actor=actor,
            obj=opco,
            data={"funding_basis": [previous, basis]},
        )


CONVOCATION_DAYS = (1, 90)


def _convocation_days(raw: str | int | None, current: int) -> int:
    """Days before the start when convocations go out: a whole number from 1 to 90 (empty: unchanged)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return current
    low, high = CONVOCATION_DAYS
    try:
        days = int(text)
    except ValueError:
        raise DomainError(
            f"Indiquez un nombre entier de jours, entre {low} et {high}.", field="convocation_days"
        ) from None
    if not low <= days <= high:
        raise DomainError(
            f"Les convocations partent entre {low} et {high} jours avant le début de la session.",
            field="convocation_days",
        )
    return days
