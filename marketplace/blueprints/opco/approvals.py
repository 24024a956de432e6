"""OPCO approval queue: enrolments on actions that require the OPCO's approval."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.blueprints.opco.routes import bp
from marketplace.extensions import db
from marketplace.models import Enrolment, EnrolmentStatus
from marketplace.services import enrolments
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.guard import get_owned, require


@bp.get("/validations")
@require(Perm.MANAGE_CATALOGUE)
def approvals():
    pending = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.opco_id == g.org.id, Enrolment.status == EnrolmentStatus.PENDING_APPROVAL)
        .order_by(Enrolment.created_at)
        .limit(200)
    ).all()
    return render_template("opco/approvals.html", pending=pending)


@bp.post("/inscriptions/<int:enrolment_id>/valider")
@require(Perm.MANAGE_CATALOGUE)
def approve(enrolment_id: int):
    enrolment = get_owned(Enrolment, enrolment_id, column="opco_id")
    try:
        enrolments.approve(enrolment, current_user, g.org.id)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Inscription de {enrolment.employee.full_name} ({enrolment.company.name}) validée.", "success")
    return redirect(url_for("opco.approvals")), 303


@bp.post("/inscriptions/<int:enrolment_id>/refuser")
@require(Perm.MANAGE_CATALOGUE)
def refuse(enrolment_id: int):
    enrolment = get_owned(Enrolment, enrolment_id, column="opco_id")
    try:
        enrolments.refuse(enrolment, current_user, g.org.id, request.form.get("reason", ""))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Inscription de {enrolment.employee.full_name} ({enrolment.company.name}) refusée ; "
              "l'entreprise est prévenue.", "success")
    return redirect(url_for("opco.approvals")), 303
