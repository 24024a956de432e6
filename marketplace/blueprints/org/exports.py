"""« Exports » of every kind of organisation: ask for an export, follow its progress, download it when ready."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.org.routes import bp
from marketplace.formatting import paris_today
from marketplace.models import ExportJob
from marketplace.services import export_jobs
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.downloads import stream_file
from marketplace.web.guard import get_owned, require

PAGE = "org/exports.html"


def _page(**extra):
    jobs = export_jobs.recent(g.org)
    return render(
        PAGE,
        kinds=export_jobs.kinds_for(g.org.kind, g.membership.role),
        formats=export_jobs.FORMATS,
        jobs=jobs,
        requested_by=export_jobs.requested_by_names(jobs),
        kind_label=lambda code: export_jobs.kind_label(g.org.kind, code),
        this_year=paris_today().year,
        keep_days=export_jobs.KEEP_DAYS,
        **extra,
    )


@bp.get("/exports")
@require(Perm.VIEW_DASHBOARD)
def exports():
    return _page()


@bp.post("/exports")
@require(Perm.VIEW_DASHBOARD)
def start_export():
    kind = request.form.get("kind", "")
    fmt = request.form.get("format", "")
    year = request.form.get("year", "")
    return perform(
        lambda: export_jobs.start(g.org, g.membership.role, current_user, kind, fmt, year),
        done=url_for("org.exports"),
        message="Export demandé : il se prépare en arrière-plan, suivez sa progression ci-dessous.",
        failed=lambda error: _page(),
    )


@bp.get("/exports/<int:export_id>/progression")
@require(Perm.VIEW_DASHBOARD)
def export_progress(export_id: int):
    """The row of one export, polled every 2 s by htmx while it is waiting or running."""
    job = get_owned(ExportJob, export_id)
    return render(
        "org/_export_row.html",
        job=job,
        requested_by=export_jobs.requested_by_names([job]),
        kind_label=lambda code: export_jobs.kind_label(g.org.kind, code),
    )


@bp.get("/exports/<int:export_id>/fichier")
@require(Perm.VIEW_DASHBOARD)
def export_download(export_id: int):
    job = export_jobs.readable(g.org, export_id)
    if job is None:
        abort(404)
    return stream_file(export_jobs.file_chunks(job), export_jobs.content_type(job), job.filename)
