"""Samples for the training organisation's tender response routes.

Tenders and lots are shared with every training organisation (``tender_id`` and ``lot_id`` are listed in
SHARED_PARAMS of the isolation test); the response document is the tenant's own: a draft response of this
organisation to a published tender whose deadline is still ahead, so every page of it answers.
"""

from __future__ import annotations


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "provider":
        return {}
    tender = make.tender(make.opco("akto"), title=f"Appel d'offres témoin des réponses de {tenant.org.name}")
    lot = tender.lots[0]
    response = make.tender_response(tender, tenant.org, status="draft")
    return {"tender_id": tender.id, "lot_id": lot.id, "document_id": response.documents[0].id}
