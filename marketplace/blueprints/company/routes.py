"""Member company area: dashboard with its OPCO attachment and what to do next."""

from flask import g

from marketplace.models import EnrolmentStatus, utcnow
from marketplace.services import company_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import render
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("company", __name__, "/entreprise", kind="company")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    data = company_pages.dashboard_page(g.org, utcnow())
    return render("company/dashboard.html", labels=EnrolmentStatus.LABELS, **vars(data))


from marketplace.blueprints.company import (  # noqa: E402, F401
    card_payments,
    catalogue,
    complaints,
    convocations,
    documents,
    employees,
    enrolments,
    headcount,
    history,
    invoices,
)
