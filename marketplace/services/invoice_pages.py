"""Read models of the invoice pages (training organisation and company) and the accountants' export.

Every lookup is scoped to the organisation reading (the issuer by ``provider_id``, the company payer by
``company_id``): another organisation's invoice is « not found ».
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import plural
from marketplace.models import (
    Enrolment,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Organisation,
    Payer,
    SessionStatus,
    TrainingSession,
)
from marketplace.services import storage
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.export_writer import Euros
from marketplace.services.exports import STREAM_ROWS, Exporter
from marketplace.services.pagination import Page, paginate

FILTER_STATUSES = {key: label for key, label in InvoiceStatus.LABELS.items()}


def _scoped(org_kind: str, org_id: int):
    column = Invoice.provider_id if org_kind == "provider" else Invoice.company_id
    query = select(Invoice).where(column == org_id)
    if org_kind == "company":  # a company sees what it was sent, never a draft
        query = query.where(Invoice.status != InvoiceStatus.DRAFT, Invoice.payer == Payer.COMPANY)
    return query


def invoice_list(
    org_kind: str, org_id: int, *, status: str | None = None, payer: str | None = None, page: int = 1
) -> Page:
    query = _scoped(org_kind, org_id)
    if status in InvoiceStatus.LABELS:
        query = query.where(Invoice.status == status)
    if payer in Payer.LABELS:
        query = query.where(Invoice.payer == payer)
    return paginate(query.order_by(Invoice.id.desc()), page)


def detail(invoice: Invoice) -> dict:
    """What the detail page shows besides the row: the session, the trainees behind the lines, the buyer
    (named from the live organisation while a draft), the credit notes and the credited invoice."""
    session = db.session.get(TrainingSession, invoice.session_id)
    ids = [line.enrolment_id for line in invoice.lines if line.enrolment_id]
    trainees = (
        {e.id: e for e in db.session.scalars(select(Enrolment).where(Enrolment.id.in_(ids)))} if ids else {}
    )
    buyer_id = invoice.opco_id if invoice.payer == Payer.OPCO else invoice.company_id
    credit_notes = list(
        db.session.scalars(
            select(Invoice).where(Invoice.credited_invoice_id == invoice.id).order_by(Invoice.id)
        )
    )
    credited = db.session.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    return {
        "session": session,
        "trainees": trainees,
        "buyer": invoice.buyer_name or db.session.get(Organisation, buyer_id).name,
        "credit_notes": credit_notes,
        "credited": credited,
    }


def pdf_bytes(invoice: Invoice) -> bytes:
    """The stored PDF, checked against its hash."""
    from marketplace.services.invoice_document import sha256

    if not invoice.storage_key:
        raise NotFound("Cette facture n'est pas encore émise.")
    data = storage.storage().read(invoice.storage_key)
    if sha256(data) != invoice.sha256:
        raise DomainError("Ce document ne correspond plus à son empreinte : il ne peut pas être servi.")
    return data


def pdf_filename(invoice: Invoice) -> str:
    return f"{'avoir' if invoice.kind == InvoiceKind.CREDIT_NOTE else 'facture'}-{invoice.number}.pdf"


def delivered_without_invoices(provider_id: int, limit: int = 20) -> list[TrainingSession]:
    """The organisation's delivered sessions with no invoice yet (« Préparer les factures »)."""
    invoiced = select(Invoice.session_id).where(Invoice.provider_id == provider_id)
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(
                TrainingSession.provider_id == provider_id,
                TrainingSession.status == SessionStatus.DELIVERED,
                TrainingSession.id.not_in(invoiced),
            )
            .order_by(TrainingSession.end_date.desc(), TrainingSession.id)
            .limit(limit)
        )
    )


class InvoicesExport(Exporter):
    """The organisation's issued invoices and credit notes, for its accountant (one row per document)."""

    title = "Factures"
    filename_stem = "factures"
    columns = (
        "Numéro",
        "Type",
        "Date",
        "Échéance",
        "Client",
        "SIRET client",
        "Payeur",
        "Référence",
        "Facture créditée",
        "Total HT (€)",
        "TVA (€)",
        "Total TTC (€)",
        "État",
        "Payée le",
    )
    widths = (14, 8, 11, 11, 30, 16, 10, 40, 14, 12, 10, 12, 22, 11)

    def __init__(self, provider_id: int, year: int | None = None):
        self.provider_id = provider_id
        self.year = year  # issued that year; every year when None
        if year:
            self.filename_stem = f"factures-{year}"

    def _query(self):
        query = select(Invoice).where(
            Invoice.provider_id == self.provider_id, Invoice.status != InvoiceStatus.DRAFT
        )
        if self.year:
            query = query.where(Invoice.year == self.year)
        return query

    def count(self) -> int:
        return int(db.session.scalar(select(func.count()).select_from(self._query().subquery())))

    def rows(self) -> Iterable[Sequence[object]]:
        numbers: dict[int, str] = {}  # a credit note comes after the invoice it credits (same series)
        query = (
            self._query().order_by(Invoice.year, Invoice.sequence).execution_options(yield_per=STREAM_ROWS)
        )
        for invoice in db.session.scalars(query):
            numbers[invoice.id] = invoice.number
            yield (
                invoice.number,
                invoice.kind_label,
                invoice.issued_on,
                invoice.due_on,
                invoice.buyer_name,
                invoice.buyer_siret,
                Payer.LABELS[invoice.payer],
                invoice.order_reference,
                numbers.get(invoice.credited_invoice_id, "") if invoice.credited_invoice_id else "",
                _euros(invoice.total_ht_cents),
                _euros(invoice.vat_cents),
                _euros(invoice.total_ttc_cents),
                invoice.status_label,
                invoice.paid_on,
            )


def _euros(cents: int) -> Euros:
    """French text with two decimals in CSV (« 1234,56 »), a number in XLSX."""
    return Euros(cents)


def prepared_message(invoices: list) -> str:
    """What « Préparer les factures » did: drafts to check and issue, or the session's invoices already out."""
    drafts = [i for i in invoices if i.status == InvoiceStatus.DRAFT]
    if not invoices:
        return "Rien à facturer pour cette session : aucun montant n'est dû."
    if not drafts:
        return f"Les factures de cette session sont déjà émises ({plural(len(invoices), 'facture')})."
    return f"{plural(len(drafts), 'facture')} en brouillon pour cette session, à vérifier puis émettre."
