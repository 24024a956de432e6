"""Company: the training history of its employees, per year, funded vs paid, and its export."""

from __future__ import annotations

from flask import g

from marketplace.blueprints.company.routes import bp
from marketplace.services import company_history
from marketplace.services.company_history import CompanyHistoryExport
from marketplace.services.roles import Perm
from marketplace.web.actions import download, render
from marketplace.web.guard import require
from marketplace.web.params import int_arg


def _filters() -> tuple[int | None, int | None]:
    """Year (2000–2100) and employee id from the query string; anything malformed is ignored."""
    return int_arg("annee", minimum=2000, maximum=2100), int_arg("salarie")


@bp.get("/historique")
@require(Perm.VIEW_DASHBOARD)
def history():
    year, employee_id = _filters()
    data = company_history.history(g.org.id, year, employee_id)
    if employee_id and employee_id not in {e for e, _ in data.employees}:
        employee_id = None  # not one of ours (or erased): shown as « tous »
    args = {k: v for k, v in (("annee", year), ("salarie", employee_id)) if v}
    return render("company/history.html", data=data, year=year, employee_id=employee_id, args=args)


@bp.get("/historique/export.csv")
@require(Perm.VIEW_DASHBOARD)
def history_export_csv():
    year, employee_id = _filters()
    return download(CompanyHistoryExport(g.org.id, year, employee_id), "csv")


@bp.get("/historique/export.xlsx")
@require(Perm.VIEW_DASHBOARD)
def history_export_xlsx():
    year, employee_id = _filters()
    return download(CompanyHistoryExport(g.org.id, year, employee_id), "xlsx")
