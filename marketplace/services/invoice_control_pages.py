"""Read models of the OPCO's invoice control and payment pages, and of the organisation's answer partial."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Enrolment,
    Invoice,
    InvoiceStatus,
    Opco,
    Payer,
    PaymentBatch,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services import delivery_pages, invoice_checks
from marketplace.services.pagination import Page, paginate

S = InvoiceStatus
# Filters of the control queue: URL value → (label, statuses).
QUEUE_FILTERS = {
    "a-controler": ("À contrôler", (S.ISSUED, S.IN_CONTROL)),
    "complements": ("Compléments demandés", (S.INFO_REQUESTED,)),
    "validees": ("Validées, à payer", (S.VALIDATED,)),
    "payees": ("Payées", (S.PAID,)),
    "rejetees": ("Rejetées", (S.REJECTED,)),
}
DEFAULT_FILTER = "a-controler"


def clean_filter(raw: str | None) -> str:
    return raw if raw in QUEUE_FILTERS else DEFAULT_FILTER


@dataclass
class QueueRow:
    invoice: Invoice
    action_title: str
    report: invoice_checks.CheckReport


def queue(opco_id: int, state: str, sampled_only: bool, page: int) -> Page:
    """One page of the OPCO's invoices in ``state``, each with its automatic checks (fixed statements)."""
    statuses = QUEUE_FILTERS[state][1]
    query = select(Invoice).where(
        Invoice.opco_id == opco_id, Invoice.payer == Payer.OPCO, Invoice.status.in_(statuses)
    )
    if sampled_only:
        query = query.where(Invoice.sampled.is_(True))
    if state == "validees":
        query = query.where(Invoice.payment_batch_id.is_(None))
    result = paginate(query.order_by(Invoice.issued_on, Invoice.id), page)
    reports = invoice_checks.checks_for(result.items)
    titles = dict(
        db.session.execute(
            select(TrainingSession.id, TrainingSession.action_id).where(
                TrainingSession.id.in_({i.session_id for i in result.items})
            )
        ).all()
    )
    names = dict(
        db.session.execute(
            select(CollectiveAction.id, CollectiveAction.title).where(
                CollectiveAction.id.in_(set(titles.values()))
            )
        ).all()
    )
    result.items = [QueueRow(i, names.get(titles.get(i.session_id), ""), reports[i.id]) for i in result.items]
    return result


def counts(opco_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Invoice.status, func.count(Invoice.id))
        .where(Invoice.opco_id == opco_id, Invoice.payer == Payer.OPCO)
        .group_by(Invoice.status)
    ).all()
    by_status = dict(rows)
    return {key: sum(by_status.get(s, 0) for s in statuses) for key, (_l, statuses) in QUEUE_FILTERS.items()}


def issued_count(opco_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Invoice.id)).where(
                Invoice.opco_id == opco_id, Invoice.payer == Payer.OPCO, Invoice.status == S.ISSUED
            )
        )
        or 0
    )


@dataclass
class ControlLine:
    line: object
    trainee: str
    company: str
    attended_minutes: int | None
    funded_cents: int | None


@dataclass
class ControlPage:
    invoice: Invoice
    session: TrainingSession
    provider: TrainingProvider
    lines: list[ControlLine]
    report: invoice_checks.CheckReport
    realisation: object
    batch: PaymentBatch | None


def control_page(invoice: Invoice) -> ControlPage:
    session = db.session.get(TrainingSession, invoice.session_id)
    enrolments = {
        e.id: e
        for e in db.session.scalars(
            select(Enrolment).where(
                Enrolment.id.in_({ln.enrolment_id for ln in invoice.lines if ln.enrolment_id})
            )
        )
    }
    realisation = delivery_pages.realisation(session)
    names = {row.enrolment.id: (row.name, row.company) for row in realisation.rows}
    lines = []
    for line in invoice.lines:
        enrolment = enrolments.get(line.enrolment_id)
        name, company = names.get(line.enrolment_id, ("", ""))
        lines.append(
            ControlLine(
                line,
                name,
                company,
                enrolment.attended_minutes if enrolment else None,
                enrolment.funded_cents if enrolment else None,
            )
        )
    return ControlPage(
        invoice=invoice,
        session=session,
        provider=db.session.get(TrainingProvider, invoice.provider_id),
        lines=lines,
        report=invoice_checks.check(invoice),
        realisation=realisation,
        batch=db.session.get(PaymentBatch, invoice.payment_batch_id) if invoice.payment_batch_id else None,
    )


def batches(opco_id: int, page: int) -> Page:
    return paginate(
        select(PaymentBatch)
        .where(PaymentBatch.opco_id == opco_id)
        .order_by(PaymentBatch.created_at.desc(), PaymentBatch.id.desc()),
        page,
    )


def batch_invoices(batch: PaymentBatch) -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.payment_batch_id == batch.id)
            .order_by(Invoice.seller_name, Invoice.id)
        )
    )


def payable(opco_id: int, page: int) -> Page:
    """Validated invoices not yet in a batch, with whether their organisation has a confirmed IBAN."""
    query = (
        select(Invoice, TrainingProvider.iban.is_not(None))
        .join(TrainingProvider, TrainingProvider.id == Invoice.provider_id)
        .where(
            Invoice.opco_id == opco_id,
            Invoice.payer == Payer.OPCO,
            Invoice.status == S.VALIDATED,
            Invoice.payment_batch_id.is_(None),
        )
        .order_by(Invoice.seller_name, Invoice.id)
    )
    return paginate(query, page, per_page=100, scalars=False)


def opco_account_ready(opco: Opco) -> bool:
    return bool(opco.payer_iban and opco.payer_bic)


def provider_invoice(provider_id: int, invoice_id: int) -> Invoice | None:
    """The organisation's own invoice (its answer partial), None otherwise (→ 404)."""
    return db.session.scalar(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.provider_id == provider_id)
    )
