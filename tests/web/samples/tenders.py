"""Samples for the calls-for-tenders routes.

OPCO tenants: their own tender (a draft, so that the builder's edit page answers), a question on it and an
attached file. When another samples module already chose a ``tender_id`` for the tenant (evaluation pages
need a tender in another state), that tender is reused so that every nested id belongs to it.

Provider tenants: a published tender of AKTO and its attached file. Published tenders are shared on purpose
with every training organisation, so in the provider area ``tender_id`` and ``attachment_id`` are listed in
``SHARED_PARAMS`` of tests/web/test_isolation.py (another organisation asking for them gets the page).
"""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import Tender, TenderAttachment, TenderQuestion
from marketplace.services import storage


def _attach(tender: Tender, name: str) -> TenderAttachment:
    stored = storage.store(name, b"%PDF-1.4 cahier des charges de test")
    attachment = TenderAttachment(
        tender_id=tender.id,
        filename=stored.filename,
        storage_key=stored.key,
        content_type=stored.content_type,
        size=stored.size,
    )
    db.session.add(attachment)
    db.session.commit()
    return attachment


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "opco":
        tender = (
            db.session.get(Tender, tenant.samples["tender_id"]) if "tender_id" in tenant.samples else None
        )
        if tender is None or tender.opco_id != tenant.org.id:
            tender = make.tender(
                tenant.org, status="draft", title=f"Appel d'offres témoin de {tenant.org.name}"
            )
        question = TenderQuestion(
            tender_id=tender.id,
            provider_id=make.provider().id,
            question="Le lot 1 peut-il être réalisé à distance ?",
        )
        db.session.add(question)
        db.session.commit()
        attachment = _attach(tender, "cahier-des-charges.pdf")
        return {"tender_id": tender.id, "question_id": question.id, "attachment_id": attachment.id}
    if tenant.kind == "provider":
        tender = (
            db.session.get(Tender, tenant.samples["tender_id"]) if "tender_id" in tenant.samples else None
        )
        if tender is None:
            tender = make.tender(
                make.opco("akto"), status="published", title=f"Appel d'offres lu par {tenant.org.name}"
            )
        attachment = _attach(tender, "annexe.pdf")
        return {"tender_id": tender.id, "attachment_id": attachment.id}
    return {}
