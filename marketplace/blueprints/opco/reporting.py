"""OPCO « Pilotage »: the figures of its catalogue with filters and charts, and the lists behind them."""

from __future__ import annotations

from flask import g

from marketplace.blueprints.opco.routes import bp
from marketplace.services import reporting_pages
from marketplace.services.reporting import Filters
from marketplace.services.roles import Perm
from marketplace.web.actions import render
from marketplace.web.guard import require
from marketplace.web.params import code_arg, int_arg, page_arg


def _filters() -> Filters:
    """The filters as asked (bounded here; the service keeps only the OPCO's own choices)."""
    return Filters(
        year=int_arg("annee", minimum=2000, maximum=2100),
        idcc=code_arg("branche", 4),
        region=code_arg("region", 8),
        theme=code_arg("theme", 10),
        band=code_arg("taille", 10),
        provider_id=int_arg("of"),
        action_id=int_arg("action"),
        month=code_arg("mois", 7),
    )


@bp.get("/pilotage")
@require(Perm.VIEW_REPORTS)
def reporting():
    data = reporting_pages.overview(g.org, _filters())
    return render("opco/reporting/index.html", fragment="opco/reporting/_results.html", data=data)


@bp.get("/pilotage/inscriptions")
@require(Perm.VIEW_REPORTS)
def reporting_enrolments():
    closed = code_arg("etat") == "cloturees"
    data = reporting_pages.enrolments(g.org, _filters(), closed_only=closed, page=page_arg())
    return render("opco/reporting/enrolments.html", data=data)


@bp.get("/pilotage/sessions")
@require(Perm.VIEW_REPORTS)
def reporting_sessions():
    data = reporting_pages.sessions(g.org, _filters(), code_arg("etat") or "", page=page_arg())
    return render("opco/reporting/sessions.html", data=data, states=reporting_pages.SESSION_STATES)


@bp.get("/pilotage/factures")
@require(Perm.VIEW_REPORTS)
def reporting_invoices():
    data = reporting_pages.invoices(g.org, _filters(), code_arg("etat") or "", page=page_arg())
    return render("opco/reporting/invoices.html", data=data, states=reporting_pages.INVOICE_STATES)
