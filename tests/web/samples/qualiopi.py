"""Samples for the training organisation's Qualiopi pages: a renewed certificate with its PDF, so that the
certificate's download answers the allowed member (no id in those URLs)."""

from __future__ import annotations

from datetime import timedelta

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.services import qualiopi


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "provider":
        return {}
    today = paris_today()
    qualiopi.renew_qualiopi(
        tenant.org,
        qualiopi.QualiopiInput(
            certifier="AFNOR Certification",
            number=f"QUA-{tenant.org.id:06d}",
            categories=["actions_formation"],
            issued_on=today - timedelta(days=1),
            expires_on=today + timedelta(days=700),
            filename="certificat.pdf",
            content=b"%PDF-1.4\n%%EOF\n",
        ),
        tenant.admin,
        today,
    )
    db.session.commit()
    return {}
