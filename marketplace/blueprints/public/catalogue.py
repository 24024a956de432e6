"""The public catalogue: OPCOs on the platform and their published collective actions, without signing in."""

from __future__ import annotations

from datetime import date
from math import ceil

from flask import abort, g, render_template, request
from sqlalchemy import select

from marketplace.blueprints.public.routes import bp
from marketplace.extensions import db
from marketplace.models import Modality, Opco
from marketplace.services import catalogue
from marketplace.web.guard import public

PER_PAGE = 20


def _opco_or_404(slug: str) -> Opco:
    opco = db.session.scalar(select(Opco).where(Opco.slug == slug))
    if opco is None:
        abort(404)
    return opco


@bp.get("/catalogue")
@public
def catalogue_index():
    return render_template("public/catalogue/index.html", opcos=catalogue.public_opcos())


@bp.get("/catalogue/<opco_slug>")
@public
def catalogue_opco(opco_slug: str):
    """One URL for the page and, with htmx, the result list (live search); bookmarks keep q and page."""
    opco = _opco_or_404(opco_slug)
    q = (request.args.get("q") or "").strip()[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    actions, total = catalogue.published_actions(opco, q, page, PER_PAGE)
    if not actions and page > 1 and total:  # a stale link past the last page shows the last page
        page = ceil(total / PER_PAGE)
        actions, total = catalogue.published_actions(opco, q, page, PER_PAGE)
    ids = [a.id for a in actions]
    today = date.today()
    context = {
        "opco": opco,
        "q": q,
        "actions": actions,
        "total": total,
        "page": page,
        "pages": max(1, ceil(total / PER_PAGE)),
        "args": {"opco_slug": opco.slug, **({"q": q} if q else {})},
        "referencings": catalogue.active_referencings(ids, today),
        "sessions": catalogue.upcoming_open_session_counts(ids, today),
        "modality_labels": Modality.LABELS,
    }
    g.vary_hx = True
    if request.headers.get("HX-Request"):
        return render_template("public/catalogue/_results.html", **context)
    return render_template("public/catalogue/opco.html", **context)


@bp.get("/catalogue/<opco_slug>/actions/<int:action_id>")
@public
def catalogue_action(opco_slug: str, action_id: int):
    opco = _opco_or_404(opco_slug)
    action = catalogue.published_action(opco, action_id)
    if action is None:
        abort(404)
    today = date.today()
    return render_template(
        "public/catalogue/action.html",
        opco=opco,
        action=action,
        preview=catalogue.funding_preview(action),
        max_share=catalogue.max_share(action),
        referencings=catalogue.active_referencings([action.id], today).get(action.id, []),
        sessions=catalogue.upcoming_open_sessions(action, today),
        modality_labels=Modality.LABELS,
    )
