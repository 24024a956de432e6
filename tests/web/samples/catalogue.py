"""Samples for the OPCO catalogue routes: an action (draft, so every page of it answers) and a referencing on it."""

from __future__ import annotations


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind != "opco":
        return {}
    action = make.action(tenant.org, status="draft", title=f"Action témoin {tenant.org.name}")
    referencing = make.referencing(action)
    return {"action_id": action.id, "referencing_id": referencing.id}
