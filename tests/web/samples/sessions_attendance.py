"""Samples for the attendance routes: the first half-day of the provider's sample session (sessions.py runs
first: modules are loaded in name order) and a scanned paper sheet filed for it. The session is open, its
half-days not yet opened: every page of it answers (the half-day page says when it can be opened, the sheet
is a preview)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import DocumentKind, TrainingSession
from marketplace.services import documents


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "provider" or "session_id" not in tenant.samples:
        return {}
    session = db.session.get(TrainingSession, tenant.samples["session_id"])
    proof = documents.issue(
        DocumentKind.PAPER_SHEET,
        b"%PDF-1.4 feuille papier",
        filename="feuille.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        slot_id=session.slots[0].id,
    )
    db.session.commit()
    return {"slot_id": session.slots[0].id, "proof_id": proof.id}
