"""The OPCO's registry of referenced training organisations: list with filters, suspend, reactivate, withdraw."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.evaluation_forms import ReferencingChangeForm
from marketplace.blueprints.opco.routes import bp
from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import Referencing, ReferencingStatus, utcnow
from marketplace.services import catalogue, referencing_registry
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.guard import get_owned, require

DONE = {
    "suspend": "Le référencement de {name} sur « {action} » est suspendu ; l'organisme est prévenu par courriel.",
    "reactivate": "Le référencement de {name} sur « {action} » est réactivé ; l'organisme est prévenu par courriel.",
    "withdraw": "Le référencement de {name} sur « {action} » est retiré ; l'organisme est prévenu par courriel.",
}


def _filters() -> dict[str, str]:
    action = request.values.get("action", "")
    status = request.values.get("statut", "")
    return {
        **({"action": action} if action.isdigit() else {}),
        **({"statut": status} if status in ReferencingStatus.LABELS else {}),
    }


@bp.get("/referencements")
@require(Perm.VIEW_DASHBOARD)
def referencings():
    filters = _filters()
    rows = referencing_registry.registry(
        g.org, action_id=int(filters["action"]) if "action" in filters else None, status=filters.get("statut")
    )
    return render_template(
        "opco/referencings/registry.html",
        rows=rows,
        actions=referencing_registry.registry_actions(g.org),
        filters=filters,
        labels=ReferencingStatus.LABELS,
        machine=catalogue.REFERENCING_MACHINE,
        form=ReferencingChangeForm(),
        today=to_paris(utcnow()).date(),
    )


@bp.post("/referencements/<int:referencing_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def referencings_transition(referencing_id: int):
    referencing = get_owned(Referencing, referencing_id, column="opco_id")
    event = request.form.get("event", "")
    form = ReferencingChangeForm()
    name, action = referencing.provider.name, referencing.action.title
    if event not in DONE:
        flash("Cette action n'est pas possible sur un référencement.", "error")
    elif not form.validate_on_submit():
        flash("Le motif ne peut pas dépasser 300 caractères.", "error")
    else:
        try:
            referencing_registry.change_referencing(referencing, event, current_user, reason=form.reason.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(DONE[event].format(name=name, action=action), "success")
    return redirect(url_for("opco.referencings", **_filters(), _anchor=f"ref-{referencing.id}"), 303)
