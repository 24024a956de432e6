"""Training organisation area: dashboard with the Qualiopi status and what to do next."""

from datetime import date

from flask import g, render_template
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Membership, ReferencingStatus
from marketplace.services import dashboards, identifiers, referencing_registry
from marketplace.services.roles import Perm
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("provider", __name__, "/of", kind="provider")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    today = date.today()
    provider = g.org
    valid = identifiers.qualiopi_is_valid(
        provider.qualiopi_expires_on, today, provider.qualiopi_category_list
    )
    days_left = (provider.qualiopi_expires_on - today).days
    members = db.session.scalar(select(func.count(Membership.id)).where(Membership.organisation_id == provider.id))
    return render_template(
        "provider/dashboard.html", qualiopi_valid=valid, days_left=days_left, members=members, today=today,
        fills=dashboards.provider_sessions(provider.id, today),
        referencings=referencing_registry.provider_referencings(provider.id),
        referencing_labels=ReferencingStatus.LABELS,
    )


from marketplace.blueprints.provider import responses, sessions, tenders  # noqa: E402, F401
