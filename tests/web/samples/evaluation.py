"""Samples for the OPCO evaluation routes: a closed tender of the OPCO (deadline passed) with one submitted
response and its document, so the evaluation page and the document download answer.

``referencing_id`` (registry routes) comes from samples/catalogue.py.
"""

from __future__ import annotations

from datetime import timedelta

from marketplace.models import utcnow


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "opco":
        return {}
    now = utcnow()
    tender = make.tender(
        tenant.org,
        status="closed",
        title=f"Appel d'offres témoin de l'évaluation de {tenant.org.name}",
        questions_deadline=now - timedelta(days=10),
        submission_deadline=now - timedelta(days=1),
    )
    response = make.tender_response(tender)
    return {"tender_id": tender.id, "response_id": response.id, "document_id": response.documents[0].id}
