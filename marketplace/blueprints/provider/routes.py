"""Training organisation area: dashboard with the Qualiopi status and what to do next."""

from flask import g

from marketplace.formatting import paris_today
from marketplace.models import ReferencingStatus
from marketplace.services import provider_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import render
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("provider", __name__, "/of", kind="provider")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    today = paris_today()
    data = provider_pages.dashboard(g.org, today)
    return render(
        "provider/dashboard.html", **vars(data), today=today, referencing_labels=ReferencingStatus.LABELS
    )


from marketplace.blueprints.provider import (  # noqa: E402, F401
    attendance,
    bank,
    card_payments,
    certificates,
    convocations,
    figures,
    invoices,
    qualiopi,
    quality,
    responses,
    sessions,
    tenders,
)
