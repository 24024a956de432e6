"""OPCO staff area: dashboard and the branches the OPCO covers."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import Company, Invitation, Membership, utcnow
from marketplace.services import dashboards, organisations
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.guard import require, tenant_blueprint

bp = tenant_blueprint("opco", __name__, "/opco", kind="opco")


@bp.get("/")
@require(Perm.VIEW_DASHBOARD)
def dashboard():
    companies = db.session.scalar(select(func.count(Company.id)).where(Company.opco_id == g.org.id)) or 0
    members = db.session.scalar(select(func.count(Membership.id)).where(Membership.organisation_id == g.org.id))
    pending = db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.organisation_id == g.org.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        )
    )
    board = dashboards.opco_dashboard(g.org.id, to_paris(utcnow()).date())
    return render_template(
        "opco/dashboard.html", companies=companies, members=members, pending_invitations=pending, board=board
    )


@bp.get("/branches")
@require(Perm.VIEW_DASHBOARD)
def branches():
    counts = dict(
        db.session.execute(
            select(Company.idcc, func.count(Company.id)).where(Company.opco_id == g.org.id).group_by(Company.idcc)
        ).all()
    )
    return render_template("opco/branches.html", branches=g.org.branches, counts=counts)


@bp.route("/parametres", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def settings():
    error = None
    if request.method == "POST":
        try:
            organisations.set_waitlist_offer_hours(g.org, request.form.get("waitlist_offer_hours", ""), current_user)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash("Paramètres enregistrés.", "success")
            return redirect(url_for("opco.settings")), 303
    status = 400 if error else 200
    return render_template("opco/settings.html", error=error), status


# Routes of the OPCO area defined in their own modules, registered on the same blueprint.
from marketplace.blueprints.opco import approvals, catalogue, evaluation, referencings, tenders  # noqa: E402, F401
