"""Member company area: dashboard with its OPCO attachment and what to do next."""

from flask import g, render_template
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import Employee, EnrolmentStatus, IdccBranch, Membership, OpcoReference, utcnow
from marketplace.services import dashboards
from marketplace.services.roles import Perm
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("company", __name__, "/entreprise", kind="company")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    branch = db.session.get(IdccBranch, g.org.idcc)
    reference_opco = db.session.get(OpcoReference, branch.opco_code) if branch else None
    members = db.session.scalar(select(func.count(Membership.id)).where(Membership.organisation_id == g.org.id))
    now = utcnow()
    board = dashboards.company_dashboard(g.org.id, to_paris(now).date(), now)
    employee_count = db.session.scalar(
        select(func.count(Employee.id)).where(Employee.company_id == g.org.id, Employee.erased_at.is_(None))
    )
    return render_template(
        "company/dashboard.html", branch=branch, reference_opco=reference_opco, members=members, board=board,
        labels=EnrolmentStatus.LABELS, employees=employee_count,
    )


from marketplace.blueprints.company import catalogue, employees, enrolments  # noqa: E402, F401
