"""Samples for the receipt of a paid invoice (``paid_invoice_id``): an invoice to the company, paid by a
transfer the training organisation recorded (no Stripe needed). One per organisation, reused by later
rounds of the constant-statements test (its growing data must not be this module's)."""

from __future__ import annotations

from sqlalchemy import or_, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Invoice
from marketplace.services import card_payments, invoicing
from tests.delivered import delivered_session


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "company":
        company, provider = tenant.org, None
        opco = make.opco(tenant.org.opco.code)
    elif tenant.kind == "provider":
        company, provider, opco = None, tenant.org, make.opco("akto")
    else:
        return {}
    made = db.session.scalar(
        select(Invoice.id)
        .where(
            Invoice.payment_reference == "VIR TEMOIN",
            or_(Invoice.company_id == tenant.org.id, Invoice.provider_id == tenant.org.id),
        )
        .limit(1)
    )
    if made is not None:
        return {"paid_invoice_id": made}
    company = company or make.company(opco.code)
    action = make.action(opco, title=f"Action témoin des paiements de {tenant.org.name}")
    session, [enrolment] = delivered_session(
        make, [(company, None, "attended", 840)], action=action, provider=provider
    )
    enrolment.funded_cents, enrolment.remainder_cents = 0, enrolment.price_cents
    enrolment.opco_amount_cents, enrolment.remainder_ttc_cents = 0, enrolment.price_ttc_cents
    db.session.commit()
    [invoice] = invoicing.draft_for_session(session, None)
    invoicing.issue(invoice, None)
    card_payments.mark_transfer_received(invoice, None, paris_today(), "VIR TEMOIN")
    db.session.commit()
    return {"paid_invoice_id": invoice.id}
