"""Samples for the training organisation's session routes: an open session of an AKTO action it is referenced for.

Open, so that every page of it answers (edit, postpone and cancel are all possible from that state).
"""

from __future__ import annotations


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "provider":
        return {}
    action = make.action(make.opco("akto"), title=f"Action témoin des sessions de {tenant.org.name}")
    session = make.session(action, tenant.org, status="open")
    return {"session_id": session.id}
