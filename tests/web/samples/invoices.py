"""Samples for the invoice pages: an issued invoice of the training organisation (``invoice_id``), or one
issued to the company (its remainder). An OPCO's invoices are ctl's pages (samples there)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.services import invoicing
from tests.delivered import delivered_session


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "company":
        company, provider = tenant.org, None
        opco = make.opco(tenant.org.opco.code)
    elif tenant.kind == "provider":
        company, provider, opco = None, tenant.org, make.opco("akto")
    else:
        return {}
    company = company or make.company(opco.code)
    action = make.action(opco, title=f"Action témoin des factures de {tenant.org.name}")
    session, [enrolment] = delivered_session(
        make, [(company, None, "attended", 840)], action=action, provider=provider
    )
    # Not funded: the company pays the whole price (one invoice, to it).
    enrolment.funded_cents, enrolment.remainder_cents = 0, enrolment.price_cents
    enrolment.opco_amount_cents, enrolment.remainder_ttc_cents = 0, enrolment.price_ttc_cents
    db.session.commit()
    [invoice] = invoicing.draft_for_session(session, None)
    invoicing.issue(invoice, None)
    db.session.commit()
    return {"invoice_id": invoice.id}
