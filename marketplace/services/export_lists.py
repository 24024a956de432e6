"""The lists an accountant or an analyst takes away: enrolments, trainees, sessions, invoices — one
``Exporter`` each, scoped to the organisation reading (OPCO by ``opco_id``, training organisation by
``provider_id``); a company's training history is in ``company_history``.

Each one selects plain columns (no objects) streamed from a server-side cursor and says how many rows it will
write (``count``), which is what the background jobs show as « x / n ». Amounts are ``Euros`` (French text in
CSV, numbers in XLSX); hours are decimal numbers (« 10,5 »); dates jj/mm/aaaa. The optional ``year`` keeps
the sessions starting that year (the invoices issued that year).

Funding figures (prise en charge, reste à charge) are those frozen on the enrolment; they are left empty for
an enrolment that is history (cancelled, refused…), as on the pages: nothing is owed on it (a dédit is
invoiced apart, see the company's history).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Company,
    ContractType,
    Employee,
    EmployeeCategory,
    Enrolment,
    EnrolmentStatus,
    IdccBranch,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Organisation,
    Payer,
    Region,
    SessionStatus,
    TrainingSession,
)
from marketplace.services.export_writer import Euros
from marketplace.services.exports import ERASED, STREAM_ROWS, Exporter
from marketplace.services.identifiers import format_siret, size_band_label

HELD = (SessionStatus.DELIVERED, SessionStatus.COMPLETED)


def hours(minutes: int | None) -> Decimal | None:
    """Minutes → decimal hours (two decimals), None when unknown."""
    if minutes is None:
        return None
    if minutes % 60 == 0:
        return Decimal(minutes // 60)
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _band(code: str | None) -> str:
    try:
        return size_band_label(code) if code else ""
    except ValueError:
        return code or ""


class ListExport(Exporter):
    """An export of rows selected by ``query()`` (plain columns) and shaped by ``shape(row)``."""

    def __init__(self, org_kind: str, org_id: int, year: int | None = None):
        self.org_kind = org_kind
        self.org_id = org_id
        self.year = year
        if year:
            self.filename_stem = f"{self.filename_stem}-{year}"

    def query(self):
        raise NotImplementedError

    def shape(self, row) -> Sequence[object]:
        return tuple(row)

    def count(self) -> int:
        """How many rows ``rows()`` will write (one count over the same selection)."""
        return int(
            db.session.scalar(select(func.count()).select_from(self.query().order_by(None).subquery()))
        )

    def rows(self) -> Iterable[Sequence[object]]:
        for row in db.session.execute(self.query().execution_options(yield_per=STREAM_ROWS)):
            yield self.shape(row)


# --- Enrolments and trainees (OPCO, training organisation) ---------------------------------------------------


def _tenant_column(org_kind: str, model):
    return getattr(model, {"opco": "opco_id", "provider": "provider_id", "company": "company_id"}[org_kind])


class EnrolmentsExport(ListExport):
    """Every enrolment, whatever its state: who enrolled whom, where, and what the OPCO funds."""

    title = "Inscriptions"
    filename_stem = "inscriptions"
    widths = (10, 12, 26, 14, 40, 30, 9, 11, 11, 30, 17, 22, 40, 22, 11, 12, 12, 9, 9)

    @property
    def columns(self):
        return (
            "N° inscription",
            "Date d'inscription",
            "État",
            "Référence action",
            "Action",
            "Organisme de formation" if self.org_kind == "opco" else "OPCO",
            "N° session",
            "Début",
            "Fin",
            "Entreprise",
            "SIRET",
            "Tranche d'effectif",
            "Branche (IDCC)",
            "Région de l'entreprise",
            "Prix HT (€)",
            "Prise en charge OPCO HT (€)",
            "Reste à charge HT (€)",
            "Heures prévues",
            "Heures réalisées",
        )

    def query(self):
        E, S, A = Enrolment, TrainingSession, CollectiveAction
        other = aliased(Organisation)
        other_id = E.provider_id if self.org_kind == "opco" else E.opco_id
        query = (
            select(
                E.id,
                E.created_at,
                E.status,
                A.reference,
                A.title,
                other.name,
                S.id,
                S.start_date,
                S.end_date,
                Company.name,
                Company.siret,
                E.size_band,
                Company.idcc,
                IdccBranch.label,
                Region.name,
                E.price_cents,
                E.funded_cents,
                E.remainder_cents,
                E.planned_minutes,
                E.attended_minutes,
            )
            .join(S, S.id == E.session_id)
            .join(A, A.id == S.action_id)
            .join(other, other.id == other_id)
            .join(Company, Company.id == E.company_id)
            .outerjoin(IdccBranch, IdccBranch.idcc == Company.idcc)
            .outerjoin(Region, Region.code == Company.region_code)
            .where(_tenant_column(self.org_kind, E) == self.org_id)
            .order_by(S.start_date, S.id, E.id)
        )
        if self.year:
            query = query.where(S.start_date.between(*year_bounds(self.year)))
        return query

    def shape(self, row):
        (eid, created, status, ref, title, other, sid, start, end, company, siret, band, idcc, branch, region,
         price, funded, remainder, planned, attended) = row  # fmt: skip
        live = status in EnrolmentStatus.LIVE
        return (
            eid,
            created,
            EnrolmentStatus.LABELS[status],
            ref,
            title,
            other,
            sid,
            start,
            end,
            company,
            format_siret(siret),
            _band(band),
            f"{idcc} – {branch}" if branch else idcc,
            region or "",
            Euros(price) if live else None,
            Euros(funded) if live else None,
            Euros(remainder) if live else None,
            hours(planned),
            hours(attended),
        )


class TraineesExport(ListExport):
    """One row per trainee per session (confirmed, convoked, trained, closed — not the waiting list)."""

    title = "Stagiaires"
    filename_stem = "stagiaires"
    widths = (22, 18, 24, 20, 30, 17, 14, 40, 30, 9, 11, 11, 24, 24, 9, 9)

    @property
    def columns(self):
        return (
            "Nom",
            "Prénom",
            "Catégorie",
            "Contrat",
            "Entreprise",
            "SIRET",
            "Référence action",
            "Action",
            "Organisme de formation" if self.org_kind == "opco" else "OPCO",
            "N° session",
            "Début",
            "Fin",
            "État",
            "Résultat",
            "Heures prévues",
            "Heures réalisées",
        )

    def query(self):
        E, S, A = Enrolment, TrainingSession, CollectiveAction
        other = aliased(Organisation)
        other_id = E.provider_id if self.org_kind == "opco" else E.opco_id
        query = (
            select(
                Employee.last_name,
                Employee.first_name,
                Employee.erased_at,
                Employee.category,
                Employee.contract_type,
                Company.name,
                Company.siret,
                A.reference,
                A.title,
                other.name,
                S.id,
                S.start_date,
                S.end_date,
                E.status,
                E.outcome,
                E.planned_minutes,
                E.attended_minutes,
            )
            .join(S, S.id == E.session_id)
            .join(A, A.id == S.action_id)
            .join(other, other.id == other_id)
            .join(Company, Company.id == E.company_id)
            .join(Employee, Employee.id == E.employee_id)
            .where(_tenant_column(self.org_kind, E) == self.org_id, E.status.in_(EnrolmentStatus.TRAINEES))
            .order_by(S.start_date, S.id, Employee.last_name, Employee.first_name, E.id)
        )
        if self.year:
            query = query.where(S.start_date.between(*year_bounds(self.year)))
        return query

    def shape(self, row):
        (last, first, erased, category, contract, company, siret, ref, title, other, sid, start, end, status,
         outcome, planned, attended) = row  # fmt: skip
        name = (ERASED, "") if erased is not None else (last.upper(), first)
        return (
            *name,
            EmployeeCategory.LABELS.get(category, category or ""),
            ContractType.LABELS.get(contract, contract or ""),
            company,
            format_siret(siret),
            ref,
            title,
            other,
            sid,
            start,
            end,
            EnrolmentStatus.LABELS[status],
            EnrolmentStatus.LABELS.get(outcome, "") if outcome else "",
            hours(planned),
            hours(attended),
        )


# --- Sessions ------------------------------------------------------------------------------------------------


def session_figures():
    """Per session: trainees (seats taken by a trainee) and minutes planned / done — one grouped subquery."""
    E = Enrolment
    trainee = E.status.in_(EnrolmentStatus.TRAINEES)
    return (
        select(
            E.session_id.label("session_id"),
            func.sum(case((trainee, 1), else_=0)).label("trainees"),
            func.sum(case((trainee, func.coalesce(E.planned_minutes, 0)), else_=0)).label("planned"),
            func.sum(case((trainee, func.coalesce(E.attended_minutes, 0)), else_=0)).label("attended"),
        )
        .group_by(E.session_id)
        .subquery()
    )


def held_label(status: str) -> str:
    if status in HELD:
        return "Tenue"
    if status == SessionStatus.CANCELLED:
        return "Annulée"
    return "À venir ou en cours"


class SessionsExport(ListExport):
    """Every session (held, cancelled, to come) with its seats, trainees and fill rate."""

    title = "Sessions"
    filename_stem = "sessions"
    widths = (9, 14, 40, 30, 11, 11, 24, 24, 22, 18, 8, 8, 10, 12, 12, 9, 9)

    @property
    def columns(self):
        return (
            "N° session",
            "Référence action",
            "Action",
            "Organisme de formation" if self.org_kind == "opco" else "OPCO",
            "Début",
            "Fin",
            "Lieu",
            "Région",
            "État",
            "Tenue / annulée",
            "Places min.",
            "Places max.",
            "Stagiaires",
            "Remplissage (%)",
            "Prix HT par stagiaire (€)",
            "Heures prévues",
            "Heures réalisées",
        )

    def query(self):
        S, A = TrainingSession, CollectiveAction
        other = aliased(Organisation)
        figures = session_figures()
        query = (
            select(
                S.id,
                A.reference,
                A.title,
                other.name,
                S.start_date,
                S.end_date,
                S.is_remote,
                S.city,
                Region.name,
                S.status,
                S.capacity_min,
                S.capacity_max,
                figures.c.trainees,
                S.price_cents,
                figures.c.planned,
                figures.c.attended,
            )
            .join(A, A.id == S.action_id)
            .join(other, other.id == (S.provider_id if self.org_kind == "opco" else S.opco_id))
            .outerjoin(Region, Region.code == S.region_code)
            .outerjoin(figures, figures.c.session_id == S.id)
            .where(_tenant_column(self.org_kind, S) == self.org_id, S.status != SessionStatus.DRAFT)
            .order_by(S.start_date, S.id)
        )
        if self.year:
            query = query.where(S.start_date.between(*year_bounds(self.year)))
        return query

    def shape(self, row):
        (sid, ref, title, other, start, end, remote, city, region, status, cmin, cmax, trainees, price, planned,
         attended) = row  # fmt: skip
        trainees = int(trainees or 0)
        return (
            sid,
            ref,
            title,
            other,
            start,
            end,
            "À distance" if remote else city,
            region or "",
            SessionStatus.LABELS[status],
            held_label(status),
            cmin,
            cmax,
            trainees,
            round(Decimal(trainees * 100) / cmax, 1) if cmax else None,
            Euros(price),
            hours(int(planned or 0)),
            hours(int(attended or 0)),
        )


# --- Invoices addressed to the OPCO ----------------------------------------------------------------------------


class OpcoInvoicesExport(ListExport):
    """The invoices and credit notes the training organisations addressed to the OPCO, with their control
    and payment."""

    title = "Factures"
    filename_stem = "factures-opco"
    columns = (
        "Numéro",
        "Type",
        "Date",
        "Échéance",
        "Organisme de formation",
        "SIRET de l'organisme",
        "N° session",
        "Référence",
        "Total HT (€)",
        "TVA (€)",
        "Total TTC (€)",
        "Montant validé (€)",
        "État",
        "Payée le",
        "Référence du paiement",
    )
    widths = (14, 8, 11, 11, 30, 17, 9, 40, 12, 10, 12, 12, 22, 11, 20)

    def __init__(self, org_id: int, year: int | None = None):
        super().__init__("opco", org_id, year)

    def query(self):
        I = Invoice  # noqa: E741
        query = (
            select(
                I.number,
                I.kind,
                I.issued_on,
                I.due_on,
                I.seller_name,
                I.seller_siret,
                I.session_id,
                I.order_reference,
                I.total_ht_cents,
                I.vat_cents,
                I.total_ttc_cents,
                I.validated_cents,
                I.status,
                I.paid_on,
                I.payment_reference,
            )
            .where(I.opco_id == self.org_id, I.payer == Payer.OPCO, I.status != InvoiceStatus.DRAFT)
            .order_by(I.issued_on, I.id)
        )
        if self.year:
            query = query.where(I.issued_on.between(*year_bounds(self.year)))
        return query

    def shape(self, row):
        (number, kind, issued, due, seller, siret, sid, ref, ht, vat, ttc, validated, status, paid,
         payment) = row  # fmt: skip
        return (
            number,
            InvoiceKind.LABELS[kind],
            issued,
            due,
            seller,
            format_siret(siret),
            sid,
            ref,
            Euros(ht),
            Euros(vat),
            Euros(ttc),
            Euros(validated) if validated is not None else None,
            InvoiceStatus.LABELS[status],
            paid,
            payment or "",
        )
