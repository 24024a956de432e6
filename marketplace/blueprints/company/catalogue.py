"""The company's catalogue: search its OPCO's sessions (page or htmx fragment) and read one session."""

from __future__ import annotations

from flask import abort, current_app, g, render_template, request
from sqlalchemy import select

from marketplace.blueprints.company.catalogue_forms import CatalogueSearchForm
from marketplace.blueprints.company.routes import bp
from marketplace.extensions import db
from marketplace.models import Modality, Region, Theme, utcnow
from marketplace.services import search
from marketplace.services.enrolments import paris_today
from marketplace.services.roles import Perm
from marketplace.web.guard import require

ENROL_ENDPOINT = "company.enrol"


def _enrol_available() -> bool:
    """The enrolment page is another part of the application; link to it only once it exists."""
    return ENROL_ENDPOINT in current_app.view_functions


def _render(template: str, **context):
    return render_template(
        template, enrol_available=_enrol_available(), modalities=Modality.LABELS, hours_fr=search.hours_fr, **context
    )


@bp.get("/catalogue")
@require(Perm.VIEW_DASHBOARD)
def catalogue():
    g.vary_hx = True
    now = utcnow()
    filters = search.SearchFilters.from_args(request.args)
    result = search.search_sessions(g.org, filters, paris_today(now), now)
    form = CatalogueSearchForm(request.args)
    form.theme.choices = [("", "Tous les thèmes")] + [
        (t.code, t.label) for t in db.session.scalars(select(Theme).order_by(Theme.label))
    ]
    form.region.choices = [("", "Toutes les régions")] + [
        (r.code, r.name) for r in db.session.scalars(select(Region).order_by(Region.name))
    ]
    if request.args:
        form.validate()
    fragment = bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")
    template = "company/catalogue/_results.html" if fragment else "company/catalogue/index.html"
    return _render(template, fragment=fragment, form=form, filters=filters, result=result, args=filters.to_args())


@bp.get("/catalogue/sessions/<int:session_id>")
@require(Perm.VIEW_DASHBOARD)
def catalogue_session(session_id: int):
    now = utcnow()
    offer = search.session_offer(g.org, session_id, paris_today(now), now)
    if offer is None:
        abort(404)
    back = {k: v for k, v in request.args.items() if k in search.SearchFilters.__dataclass_fields__ and v}
    return _render(
        "company/catalogue/session.html", offer=offer, session=offer.session, action=offer.session.action, back=back
    )
