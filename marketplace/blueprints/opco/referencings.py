"""The OPCO's registry of referenced training organisations: list with filters, suspend, reactivate, withdraw."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.evaluation_forms import ReferencingChangeForm
from marketplace.blueprints.opco.routes import bp
from marketplace.formatting import paris_today
from marketplace.models import Referencing, ReferencingStatus
from marketplace.services import referencing_registry
from marketplace.services.errors import DomainError
from marketplace.services.referencings import REFERENCING_MACHINE
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg, parse_int

DONE = {
    "suspend": "Le référencement de {name} sur « {action} » est suspendu ; l'organisme est prévenu par courriel.",
    "reactivate": "Le référencement de {name} sur « {action} » est réactivé ; l'organisme est prévenu par courriel.",
    "withdraw": "Le référencement de {name} sur « {action} » est retiré ; l'organisme est prévenu par courriel.",
}


def _filters() -> dict[str, str]:
    """The registry's filters as given (query string, or the hidden fields of a change form); others ignored."""
    action_id = parse_int(request.values.get("action"))
    status = request.values.get("statut", "")
    return {
        **({"action": str(action_id)} if action_id is not None else {}),
        **({"statut": status} if status in ReferencingStatus.LABELS else {}),
    }


def _registry_page(form: ReferencingChangeForm | None = None):
    filters = _filters()
    rows = referencing_registry.registry_page(
        g.org,
        action_id=int(filters["action"]) if "action" in filters else None,
        status=filters.get("statut"),
        page=page_arg(),
    )
    return render(
        "opco/referencings/registry.html",
        rows=rows.items,
        total=rows.total,
        page=rows.page,
        pages=rows.pages,
        actions=referencing_registry.registry_actions(g.org),
        filters=filters,
        labels=ReferencingStatus.LABELS,
        machine=REFERENCING_MACHINE,
        form=form or ReferencingChangeForm(formdata=None),
        today=paris_today(),
    )


@bp.get("/referencements")
@require(Perm.VIEW_DASHBOARD)
def referencings():
    return _registry_page()


@bp.post("/referencements/<int:referencing_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def referencings_transition(referencing_id: int):
    referencing = get_owned(Referencing, referencing_id, column="opco_id")
    event = request.form.get("event", "")
    form = ReferencingChangeForm()
    name, action = referencing.provider.name, referencing.action.title

    def change():
        if event not in DONE:
            raise DomainError("Cette action n'est pas possible sur un référencement.")
        if not form.validate():
            raise DomainError("Le motif ne peut pas dépasser 300 caractères.", field="reason")
        return referencing_registry.change_referencing(
            referencing, event, current_user, reason=form.reason.data
        )

    return perform(
        change,
        done=url_for("opco.referencings", **_filters(), _anchor=f"ref-{referencing_id}"),
        message=lambda _: DONE[event].format(name=name, action=action),
        failed=lambda error: _registry_page(),
    )
