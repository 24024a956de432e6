"""The company's catalogue: search its OPCO's sessions (page or htmx fragment) and read one session."""

from __future__ import annotations

from flask import abort, current_app, g, render_template, request
from markupsafe import Markup, escape

from marketplace.blueprints.company.catalogue_forms import CatalogueSearchForm
from marketplace.blueprints.company.routes import bp
from marketplace.formatting import paris_today
from marketplace.models import Modality, utcnow
from marketplace.services import company_pages, search
from marketplace.services.roles import Perm
from marketplace.web.actions import render, wants_fragment
from marketplace.web.guard import require
from marketplace.web.kept import KeptHtml, url_with_id
from marketplace.web.params import page_arg

ENROL_ENDPOINT = "company.enrol"


def _enrol_available() -> bool:
    """The enrolment page is another part of the application; link to it only once it exists."""
    return ENROL_ENDPOINT in current_app.view_functions


def _render(template: str, **context):
    return render(
        template,
        enrol_available=_enrol_available(),
        modalities=Modality.LABELS,
        hours_fr=search.hours_fr,
        **context,
    )


# The organisation select of the search form, rendered once per list of choices (an OPCO may reference
# hundreds of organisations; the list is kept by ``search.opco_providers``).
_provider_options = KeptHtml(seconds=3600, size=100)


def provider_options(providers: list[tuple[int, str]], selected: int | None) -> Markup:
    """The ``<option>`` of each organisation, the one searched for selected."""
    html = str(  # a plain text: Markup.replace would escape the option searched for
        _provider_options.get(
            id(providers),
            lambda: "".join(
                f'\n          <option value="{pid}">{escape(name)}</option>' for pid, name in providers
            ),
            depends_on=providers,
        )
    )
    if selected is not None:
        html = html.replace(f'<option value="{selected}">', f'<option value="{selected}" selected>', 1)
    return Markup(html)


def _filters() -> search.SearchFilters:
    """The search asked for in the URL; what cannot be understood (or is out of range) is left out."""
    filters = search.SearchFilters.from_args(request.args)
    filters.page = page_arg()
    return filters


# The rendered search form per organisation and query string, kept a minute: it depends on nothing else
# (the choices are the reference lists and the OPCO's organisations, themselves kept per process), and its
# fields cost more to render than the page's results.
_forms = KeptHtml(seconds=60, size=500)


def _search_form(filters: search.SearchFilters, providers: list[tuple[int, str]]) -> Markup:
    def build() -> str:
        choices = company_pages.catalogue_choices()
        form = CatalogueSearchForm(request.args)
        form.theme.choices = [("", "Tous les thèmes"), *choices.themes]
        form.region.choices = [("", "Toutes les régions"), *choices.regions]
        if request.args:
            form.validate()  # shows why a filter was left out, next to it
        return render_template(
            "company/catalogue/_search_form.html",
            form=form,
            filters=filters,
            provider_options=provider_options(providers, filters.provider_id),
        )

    key = (g.org.id, g.org.slug, tuple(request.args.items(multi=True)))
    return _forms.get(key, build, depends_on=providers)


@bp.get("/catalogue")
@require(Perm.VIEW_DASHBOARD)
def catalogue():
    now = utcnow()
    filters = _filters()
    args = filters.to_args()
    result = search.search_sessions(g.org, filters, paris_today(now), now)
    return _render(
        "company/catalogue/index.html",
        fragment="company/catalogue/_results_x.html",
        # htmx asks for the results only: no form then.
        search_form=None if wants_fragment() else _search_form(filters, result.providers),
        filters=filters,
        result=result,
        args=args,
        session_url=url_with_id("company.catalogue_session", "session_id", **args),
        enrol_url=url_with_id(ENROL_ENDPOINT, "session_id") if _enrol_available() else None,
    )


@bp.get("/catalogue/sessions/<int:session_id>")
@require(Perm.VIEW_DASHBOARD)
def catalogue_session(session_id: int):
    now = utcnow()
    offer = search.session_offer(g.org, session_id, paris_today(now), now)
    if offer is None:
        abort(404)
    filters = _filters()
    back = {**filters.to_args(), **({"page": str(filters.page)} if filters.page > 1 else {})}
    return _render(
        "company/catalogue/session.html",
        offer=offer,
        session=offer.session,
        action=offer.session.action,
        back=back,
    )
