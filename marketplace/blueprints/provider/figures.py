"""Training organisation: its own figures for a year (« Indicateurs ») and help for its BPF, with export."""

from __future__ import annotations

from flask import g

from marketplace.blueprints.provider.routes import bp
from marketplace.formatting import paris_today
from marketplace.services import provider_figures
from marketplace.services.roles import Perm, has_permission
from marketplace.web.actions import download, render
from marketplace.web.guard import require
from marketplace.web.params import int_arg


def _year() -> int:
    return int_arg("annee", minimum=2000, maximum=2100) or paris_today().year


@bp.get("/indicateurs")
@require(Perm.VIEW_DASHBOARD)
def figures():
    year = _year()
    return render(
        "provider/figures.html",
        data=provider_figures.figures(g.org.id, year),
        years=provider_figures.years(g.org.id, paris_today().year),
        year=year,
        show_money=has_permission(g.org.kind, g.membership.role, Perm.INVOICE),
    )


@bp.get("/indicateurs/export.csv")
@require(Perm.INVOICE)
def figures_export_csv():
    return download(provider_figures.ActionFiguresExport(g.org.id, _year()), "csv")


@bp.get("/indicateurs/export.xlsx")
@require(Perm.INVOICE)
def figures_export_xlsx():
    return download(provider_figures.ActionFiguresExport(g.org.id, _year()), "xlsx")
