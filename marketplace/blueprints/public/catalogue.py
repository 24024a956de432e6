"""The public catalogue: OPCOs on the platform and their published collective actions, without signing in."""

from __future__ import annotations

from flask import abort, request

from marketplace.blueprints.public.routes import bp
from marketplace.formatting import paris_today
from marketplace.models import Modality, Opco, utcnow
from marketplace.services import catalogue_reads, public_pages
from marketplace.web.actions import render
from marketplace.web.guard import public
from marketplace.web.params import page_arg


def _opco_or_404(slug: str) -> Opco:
    opco = public_pages.opco_by_slug(slug)
    if opco is None:
        abort(404)
    return opco


@bp.get("/catalogue")
@public
def catalogue_index():
    return render("public/catalogue/index.html", opcos=catalogue_reads.public_opcos())


@bp.get("/catalogue/<opco_slug>")
@public
def catalogue_opco(opco_slug: str):
    """One URL for the page and, with htmx, the result list (live search); bookmarks keep q and page."""
    opco = _opco_or_404(opco_slug)
    q = public_pages.search_query(request.args.get("q"))
    data = public_pages.opco_catalogue(opco, q, page_arg(), paris_today(utcnow()))
    return render(
        "public/catalogue/opco.html",
        fragment="public/catalogue/_results.html",
        opco=opco,
        q=q,
        actions=data.actions.items,
        total=data.actions.total,
        page=data.actions.page,
        pages=data.actions.pages,
        args={"opco_slug": opco.slug, **({"q": q} if q else {})},
        referencings=data.referencings,
        sessions=data.sessions,
        modality_labels=Modality.LABELS,
    )


@bp.get("/catalogue/<opco_slug>/actions/<int:action_id>")
@public
def catalogue_action(opco_slug: str, action_id: int):
    opco = _opco_or_404(opco_slug)
    data = public_pages.action_page(opco, action_id, paris_today(utcnow()))
    if data is None:
        abort(404)
    return render("public/catalogue/action.html", opco=opco, modality_labels=Modality.LABELS, **vars(data))
