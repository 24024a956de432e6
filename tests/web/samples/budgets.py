"""Samples for the OPCO's budget pages: an envelope with an action drawing on it and one movement."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.services import envelopes


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "opco":
        return {}
    envelope = envelopes.create_envelope(
        tenant.org,
        envelopes.EnvelopeInput(
            label=f"Enveloppe témoin {tenant.org.name}", year=2026, fund="legal", allotted="50 000"
        ),
        tenant.admin,
    )
    action = make.action(tenant.org, title=f"Action budgétée {tenant.org.name}")
    action.envelope_id = envelope.id
    db.session.commit()
    make.enrolment(make.session(action), make.company(tenant.org.code))
    return {"envelope_id": envelope.id}
