"""Samples for the company catalogue: an open session of the company's own OPCO (company A: AKTO, B: ATLAS)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import Opco


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "company":
        return {}
    opco = db.session.get(Opco, tenant.org.opco_id)
    action = make.action(opco, title=f"Action témoin du catalogue de {tenant.org.name}")
    session = make.session(action, status="open")
    return {"session_id": session.id}
