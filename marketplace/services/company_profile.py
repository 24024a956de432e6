"""What a company states about itself after sign-up: its OPCO when its branch is outside the reference table
(confirmed or refused by the platform operator), and its headcount (annual average of the previous year), which
sets its size band for the enrolments made from then on."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Company, Opco, User
from marketplace.services import audit, identifiers
from marketplace.services.errors import DomainError, InvalidForm

# --- OPCO stated by a company, confirmed by the platform operator --------------------------------------------


def _pending_company(company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    if company is None or company.declared_opco_code is None or company.opco_confirmed_at is not None:
        raise DomainError("Cette entreprise n'a pas d'OPCO en attente de confirmation.")
    return company


def confirm_declared_opco(company_id: int, actor: User, now: datetime) -> Company:
    """The operator checked the OPCO a company stated (IDCC outside the table): the company is attached to it
    (now, or when that OPCO joins the platform) and may enrol. The reference table itself is not changed:
    one company's word is not a source for its branch."""
    company = _pending_company(company_id)
    company.opco_confirmed_at = now
    opco = db.session.scalar(select(Opco).where(Opco.code == company.declared_opco_code))
    company.opco_id = opco.id if opco else None
    audit.record(
        "company.opco_confirmed",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={"idcc": company.idcc, "opco": company.declared_opco_code},
    )
    if opco is not None:
        audit.record(
            "company.opco_attached", organisation_id=company.id, obj=company, data={"opco": opco.name}
        )
    return company


def refuse_declared_opco(company_id: int, actor: User) -> Company:
    """The stated OPCO is not the company's: it stays without OPCO and states another one."""
    company = _pending_company(company_id)
    refused = company.declared_opco_code
    company.declared_opco_code = None
    audit.record(
        "company.opco_refused",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={"idcc": company.idcc, "opco": refused},
    )
    return company


def validate_headcount_year(raw: str | int | None, today: date) -> int:
    """The year of the headcount: the annual average of the previous year (« effectif moyen annuel de
    l'année N-1 »), or of the year before while that average is not yet known (early in the year).

    Empty means last year; any other year is refused.
    """
    last = today.year - 1
    text = str(raw if raw is not None else "").strip()
    if not text:
        return last
    message = (
        f"L'effectif est la moyenne annuelle de l'année précédente : indiquez l'année {last} "
        f"(ou {last - 1} si la moyenne de {last} n'est pas encore connue)."
    )
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise DomainError(message, field="headcount_year")
    year = int(text)
    if not last - 1 <= year <= last:
        raise DomainError(message, field="headcount_year")
    return year


def update_headcount(
    company: Company, raw_headcount: str | int, raw_year: str | int | None, actor: User, today: date
) -> Company:
    """The company states its headcount again (a new year's average): audited with the values before and
    after; the size band (funding shares, eligibility) follows from it for the enrolments made from now on,
    those already made keep the band frozen on them."""
    errors = {}
    try:
        headcount = identifiers.validate_headcount(raw_headcount)
    except DomainError as error:
        errors["headcount"] = error.message
    try:
        year = validate_headcount_year(raw_year, today)
    except DomainError as error:
        errors["headcount_year"] = error.message
    if errors:
        raise InvalidForm(errors)
    before = (company.headcount, company.headcount_year, identifiers.size_band(company.headcount))
    after = (headcount, year, identifiers.size_band(headcount))
    if before == after:
        return company
    company.headcount, company.headcount_year = headcount, year
    audit.record(
        "company.headcount_changed",
        organisation_id=company.id,
        actor=actor,
        obj=company,
        data={
            "headcount": [before[0], after[0]],
            "headcount_year": [before[1], after[1]],
            "size_band": [before[2], after[2]],
        },
    )
    return company
