"""Samples for the attendance routes: the first half-day of the provider's sample session (sessions.py runs
first: modules are loaded in name order). The session is open, its half-days not yet opened: every page of
it answers (the half-day page says when it can be opened, the sheet is a preview)."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import TrainingSession


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "provider" or "session_id" not in tenant.samples:
        return {}
    session = db.session.get(TrainingSession, tenant.samples["session_id"])
    return {"slot_id": session.slots[0].id}
