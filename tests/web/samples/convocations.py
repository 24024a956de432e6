"""Isolation samples for convocation downloads: a convocation each training organisation and company may read.

The session starts within the OPCO's 21 days, so the enrolment is convoked at once (the document exists).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Document, DocumentKind


def _convocation(make, session, company=None, actor=None) -> int:
    enrolment = make.enrolment(session, company, actor=actor)
    return db.session.scalar(
        select(Document.id).where(
            Document.enrolment_id == enrolment.id, Document.kind == DocumentKind.CONVOCATION
        )
    )


def add_samples(make, tenant) -> dict[str, int]:
    start = paris_today() + timedelta(days=10)
    if tenant.kind == "provider":
        action = make.action(make.opco("akto"), title=f"Action convoquée de {tenant.org.name}")
        session = make.session(action, tenant.org, start=start, days=2)
        return {"convocation_id": _convocation(make, session)}
    if tenant.kind == "company":
        company = tenant.org
        session = make.session(make.action(make.opco(company.opco.code)), start=start, days=2)
        return {"convocation_id": _convocation(make, session, company, tenant.admin)}
    return {}
