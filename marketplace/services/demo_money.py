"""Demo invoices (part of `flask seed-demo`): the organisation's delivered sessions invoiced through the same
services as the pages — the OPCO's invoice and each company's, issued — and a partial credit note on one
company invoice, so the invoices pages, PDFs (Factur-X) and the accountants' export have content."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Payer, SessionStatus, TrainingProvider, TrainingSession, User
from marketplace.services import invoicing


def seed_money(today, providers: list[TrainingProvider], provider_admins: list[User]) -> dict[str, int]:
    """Invoices issued for the first organisation's delivered sessions (the caller commits)."""
    provider, admin = providers[0], provider_admins[0]
    delivered = db.session.scalars(
        select(TrainingSession)
        .where(TrainingSession.provider_id == provider.id, TrainingSession.status == SessionStatus.DELIVERED)
        .order_by(TrainingSession.id)
    ).all()
    issued, credit_notes = 0, 0
    for session in delivered:
        for invoice in invoicing.draft_for_session(session, admin):
            invoicing.issue(invoice, admin, today=today)
            issued += 1
    db.session.flush()
    company_invoice = next(
        (
            invoice
            for session in delivered
            for invoice in invoicing.session_invoices(session.id)
            if invoice.payer == Payer.COMPANY and invoice.total_ht_cents > 1000
        ),
        None,
    )
    if company_invoice is not None:
        invoicing.credit(
            company_invoice,
            admin,
            "Geste commercial : support de cours non remis",
            amount_cents=1000,
            today=today,
        )
        credit_notes += 1
    return {"invoices_issued": issued, "credit_notes": credit_notes}
