"""Samples for the OPCO's invoice control and payment batches, and the organisation's answer to a request:
an issued invoice addressed to the tenant OPCO (``opco_invoice_id``) and a payment batch of the tenant OPCO
(``payment_batch_id``); for a training organisation, one of its OPCO invoices (``invoice_id``)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import PaymentBatch
from tests.opco_invoices import opco_invoice


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "opco":
        invoice = opco_invoice(make, opco_code=tenant.org.code, trainees=1)
        batch = PaymentBatch(opco_id=tenant.org.id, reference=f"LOT-TEST-{invoice.id}", invoice_count=0)
        db.session.add(batch)
        db.session.commit()
        return {"opco_invoice_id": invoice.id, "payment_batch_id": batch.id}
    if tenant.kind == "provider":
        invoice = opco_invoice(make, provider=tenant.org, trainees=1)
        return {"invoice_id": invoice.id}
    return {}
