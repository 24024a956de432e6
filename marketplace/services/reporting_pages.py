"""Read models of the OPCO's « Pilotage » pages: the figures page and the lists behind each figure.

A list shows exactly the rows a figure counts, with the same filters (services.reporting), one page at a
time (services.pagination): a fixed number of statements whatever the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import lazyload, selectinload

from marketplace.models import (
    CollectiveAction,
    Company,
    Enrolment,
    EnrolmentStatus,
    Invoice,
    InvoiceLine,
    Opco,
    SessionStatus,
    TrainingSession,
)
from marketplace.services import reporting
from marketplace.services.pagination import Page, paginate
from marketplace.services.reporting import Choices, Filters

SESSION_STATES = {"tenues": "Sessions tenues", "annulees": "Sessions annulées"}
INVOICE_STATES = {"realisees": "Factures du réalisé", "payees": "Factures payées"}


CHARTS = {
    # dimension: (title, horizontal bars, [(dataset label, figure)])
    "month": ("Inscriptions par mois de début de session", False, [("Inscriptions", "enrolments")]),
    "region": ("Inscriptions par région de la session", True, [("Inscriptions", "enrolments")]),
    "band": ("Inscriptions par taille d'entreprise", False, [("Inscriptions", "enrolments")]),
    "provider": (
        "Heures-stagiaires par organisme de formation",
        True,
        [("Heures prévues", "planned_minutes"), ("Heures réalisées", "done_minutes")],
    ),
}


def chart(dimension: str, rows: list[reporting.Row]) -> dict:
    """What the page's script draws (a JSON data block): labels and datasets, hours as decimal hours."""
    title, horizontal, datasets = CHARTS[dimension]

    def value(row, name):
        number = getattr(row.figures, name)
        return round(number / 60, 1) if name.endswith("_minutes") else number

    return {
        "title": title,
        "horizontal": horizontal,
        "labels": [row.label for row in rows],
        "datasets": [{"label": label, "data": [value(r, name) for r in rows]} for label, name in datasets],
    }


@dataclass
class Overview:
    filters: Filters
    choices: Choices
    report: reporting.Report
    summary: list[str]

    @property
    def charts(self) -> dict[str, dict]:
        return {d: chart(d, rows) for d, rows in self.report.breakdowns.items()}


def describe(filters: Filters, known: Choices) -> list[str]:
    """The filters in words (« Campagne 2026 », « Région : Bretagne »…)."""
    words = []
    if filters.year is not None:
        words.append(f"Campagne {filters.year}")
    for value, options, name in (
        (filters.idcc, known.branches, "Branche"),
        (filters.region, known.regions, "Région"),
        (filters.theme, known.themes, "Thème"),
        (filters.band, known.bands, "Taille d'entreprise"),
        (filters.provider_id, known.providers, "Organisme de formation"),
        (filters.action_id, known.actions, "Action"),
    ):
        if value is not None:
            words.append(f"{name} : {dict(options).get(value, value)}")
    if filters.month:
        words.append(f"Mois : {reporting.MONTHS[int(filters.month[5:]) - 1]} {filters.month[:4]}")
    return words


def overview(opco: Opco, raw: Filters) -> Overview:
    known = reporting.choices(opco)
    filters = reporting.clean(raw, known)
    return Overview(filters, known, reporting.report(opco, filters, known), describe(filters, known))


@dataclass
class Listing:
    filters: Filters
    summary: list[str]
    page: Page
    state: str = ""


def enrolments(opco: Opco, raw: Filters, *, closed_only: bool, page: int) -> Listing:
    """The inscriptions behind the trainees, hours and committed figures (closed ones for the hours)."""
    known = reporting.choices(opco)
    filters = reporting.clean(raw, known)
    where = reporting.enrolment_conditions(opco.id, filters)
    if closed_only:
        where.append(Enrolment.status == EnrolmentStatus.CLOSED)
    query = (
        reporting.enrolments_from(select(Enrolment), filters)
        .options(selectinload(Enrolment.company))
        .where(*where)
        .order_by(TrainingSession.start_date.desc(), TrainingSession.id.desc(), Enrolment.id)
    )
    return Listing(
        filters, describe(filters, known), paginate(query, page), "cloturees" if closed_only else ""
    )


def sessions(opco: Opco, raw: Filters, state: str, *, page: int) -> Listing:
    """The sessions held or cancelled (the session filters only: a session has no branch nor size band)."""
    known = reporting.choices(opco)
    filters = reporting.clean(raw, known)
    state = state if state in SESSION_STATES else "tenues"
    statuses = reporting.HELD if state == "tenues" else (SessionStatus.CANCELLED,)
    query = (
        reporting.sessions_from(select(TrainingSession))
        .where(*reporting.session_conditions(opco.id, filters), TrainingSession.status.in_(statuses))
        .order_by(TrainingSession.start_date.desc(), TrainingSession.id.desc())
    )
    return Listing(filters, describe(filters, known), paginate(query, page), state)


def invoices(opco: Opco, raw: Filters, state: str, *, page: int) -> Listing:
    """The OPCO's invoices (and credit notes) behind the realised or paid amounts."""
    known = reporting.choices(opco)
    filters = reporting.clean(raw, known)
    state = state if state in INVOICE_STATES else "realisees"
    where = reporting.invoice_conditions(opco.id, filters)
    where.append(reporting.realised_condition() if state == "realisees" else reporting.paid_condition())
    if filters.by_company:
        line = (
            select(InvoiceLine.id)
            .join(Enrolment, Enrolment.id == InvoiceLine.enrolment_id)
            .join(Company, Company.id == Enrolment.company_id)
            .where(InvoiceLine.invoice_id == Invoice.id)
        )
        if filters.band:
            line = line.where(Enrolment.size_band == filters.band)
        if filters.idcc:
            line = line.where(Company.idcc == filters.idcc)
        where.append(exists(line))
    query = (
        reporting.invoices_from(select(Invoice, CollectiveAction.title, TrainingSession.start_date))
        .options(lazyload(Invoice.lines))
        .where(*where)
        .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
    )
    return Listing(filters, describe(filters, known), paginate(query, page, scalars=False), state)
