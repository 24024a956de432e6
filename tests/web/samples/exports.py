"""Samples for the export pages: a finished export of the tenant (``export_id``), its file stored."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.services import export_jobs


def add_samples(make, tenant) -> dict[str, int]:
    kind = export_jobs.KINDS[tenant.kind][0].code
    job = export_jobs.start(tenant.org, "admin", tenant.admin, kind, "csv", "")
    db.session.commit()
    export_jobs.run(job.id)
    return {"export_id": job.id}
