"""OPCO approval queue: enrolments on actions that require the OPCO's approval."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.routes import bp
from marketplace.models import Enrolment
from marketplace.services import enrolments, opco_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.guard import get_owned, require


def _queue_page():
    return render("opco/approvals.html", pending=opco_pages.approval_queue(g.org))


@bp.get("/validations")
@require(Perm.MANAGE_CATALOGUE)
def approvals():
    return _queue_page()


def _decide(enrolment_id: int, decide, success: str):
    """A decision button of the queue: back to the queue (303), or the queue again with the refusal (422)."""
    enrolment = get_owned(Enrolment, enrolment_id, column="opco_id")
    who = f"{enrolment.employee.full_name} ({enrolment.company.name})"
    return perform(
        lambda: decide(enrolment),
        done=url_for("opco.approvals"),
        message=success.format(who=who),
        failed=lambda error: _queue_page(),
    )


@bp.post("/inscriptions/<int:enrolment_id>/valider")
@require(Perm.MANAGE_CATALOGUE)
def approve(enrolment_id: int):
    return _decide(
        enrolment_id, lambda e: enrolments.approve(e, current_user, g.org.id), "Inscription de {who} validée."
    )


@bp.post("/inscriptions/<int:enrolment_id>/refuser")
@require(Perm.MANAGE_CATALOGUE)
def refuse(enrolment_id: int):
    reason = request.form.get("reason", "")
    return _decide(
        enrolment_id,
        lambda e: enrolments.refuse(e, current_user, g.org.id, reason),
        "Inscription de {who} refusée ; l'entreprise est prévenue.",
    )
