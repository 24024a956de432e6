"""Samples for the delivery documents and the OPCO's control of service fait: a delivered session funded by
the tenant (OPCO), or delivered by it (training organisation), or followed by its employee (company), with
one stored certificate readable by the tenant (``training_document_id``)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import DocumentKind
from marketplace.services import documents
from tests.delivered import delivered_session

SAMPLE_PDF = b"%PDF-1.4\n% certificat de realisation (exemple du parcours des routes)\n"


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "opco":
        opco_code, company, provider = tenant.org.code, None, None
    elif tenant.kind == "company":
        opco_code, company, provider = tenant.org.opco.code, tenant.org, None
    elif tenant.kind == "provider":
        opco_code, company, provider = "akto", None, tenant.org
    else:
        return {}
    company = company or make.company(opco_code)
    action = make.action(make.opco(opco_code), title=f"Action témoin du service fait de {tenant.org.name}")
    session, [enrolment] = delivered_session(
        make, [(company, None, "attended", 840)], action=action, provider=provider
    )
    document = documents.issue(
        DocumentKind.CERTIFICATE,
        SAMPLE_PDF,
        filename="certificat-realisation-exemple.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        enrolment_id=enrolment.id,
        company_id=enrolment.company_id,
    )
    db.session.commit()
    samples = {"training_document_id": document.id}
    if tenant.kind == "opco":
        samples["session_id"] = session.id
    return samples
