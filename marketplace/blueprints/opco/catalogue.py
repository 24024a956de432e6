"""OPCO catalogue management: actions (list, create, edit, publish, archive) and referencings of organisations."""

from __future__ import annotations

from flask import abort, flash, g, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.blueprints.opco.catalogue_forms import ActionForm, ReferencingEditForm, ReferencingForm
from marketplace.blueprints.opco.routes import bp
from marketplace.formatting import of_name, paris_today
from marketplace.models import ActionStatus, CollectiveAction, Modality, Referencing, ReferencingStatus
from marketplace.services import action_input, catalogue, catalogue_pages, referencings
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg, parse_int

ACTION_DONE = {
    "publish": "L'action « {title} » est publiée : elle apparaît dans le catalogue public et dans celui des "
    "entreprises adhérentes.",
    "archive": "L'action « {title} » est archivée : elle n'est plus proposée aux entreprises.",
    "unarchive": "L'action « {title} » est de nouveau en brouillon ; publiez-la quand elle est prête.",
}
REFERENCING_DONE = {
    "suspend": "Le référencement de {name} est suspendu.",
    "reactivate": "Le référencement de {name} est réactivé.",
    "withdraw": "Le référencement de {name} est retiré.",
}


def _euros_input(cents: int | None) -> str:
    """Cents as a French amount for an input field (« 1200,50 »)."""
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


def _get_action(action_id: int) -> CollectiveAction:
    return get_owned(CollectiveAction, action_id, column="opco_id")


def _get_referencing(action: CollectiveAction, referencing_id: int) -> Referencing:
    referencing = catalogue_pages.referencing_of_action(action, referencing_id)
    if referencing is None:
        abort(404)
    return referencing


# --- List and detail --------------------------------------------------------------------------------


@bp.get("/catalogue")
@require(Perm.VIEW_DASHBOARD)
def actions():
    status = request.args.get("statut", "")
    if status not in ActionStatus.LABELS:
        status = ""
    data = catalogue_pages.action_list(g.org, status, page_arg())
    return render(
        "opco/catalogue/list.html",
        actions=data.page.items,
        total=data.page.total,
        status_filter=status,
        labels=ActionStatus.LABELS,
        modality_labels=Modality.LABELS,
        counts=data.counts,
        sessions=data.sessions,
        referenced=data.referenced,
        page=data.page.page,
        pages=data.page.pages,
        args={"statut": status} if status else {},
    )


def _detail_page(action: CollectiveAction):
    data = catalogue_pages.action_detail(action)
    return render(
        "opco/catalogue/detail.html",
        action=action,
        labels=ActionStatus.LABELS,
        modality_labels=Modality.LABELS,
        referencing_labels=ReferencingStatus.LABELS,
        preview=data.preview,
        problems=data.problems,
        events=data.events,
        machine=catalogue.ACTION_MACHINE,
        referencings=data.referencings,
        referencing_machine=referencings.REFERENCING_MACHINE,
        sessions=data.sessions,
        envelope=data.envelope,
        today=paris_today(),
    )


@bp.get("/catalogue/<int:action_id>")
@require(Perm.VIEW_DASHBOARD)
def action_detail(action_id: int):
    return _detail_page(_get_action(action_id))


# --- Create and edit --------------------------------------------------------------------------------


def _action_form(action: CollectiveAction | None = None) -> ActionForm:
    form = ActionForm()
    choices = catalogue_pages.action_choices(g.org, action)
    form.theme_code.choices = [SelectChoice("", "— Choisissez —")] + [
        SelectChoice(code, label) for code, label in choices.themes
    ]
    form.modality.choices = [SelectChoice("", "— Choisissez —")] + [
        SelectChoice(code, label) for code, label in choices.modalities
    ]
    form.campaign_year.choices = [SelectChoice(str(y)) for y in choices.years]
    form.region_codes.choices = [SelectChoice(code, name) for code, name in choices.regions]
    form.idcc_codes.choices = [SelectChoice(code, label) for code, label in choices.branches]
    return form


def _action_input(form: ActionForm) -> action_input.ActionInput:
    return action_input.ActionInput(
        title=form.title.data or "",
        reference=form.reference.data or "",
        theme_code=form.theme_code.data or "",
        modality=form.modality.data or "",
        duration_hours=form.duration_hours.data or "",
        campaign_year=form.campaign_year.data or "",
        price=form.price.data or "",
        is_national=form.scope.data != "regional",
        region_codes=form.region_codes.data or [],
        idcc_codes=form.idcc_codes.data or [],
        funding_shares={code: field.data for code, _label, field in form.share_fields},
        objectives=form.objectives.data or "",
        programme=form.programme.data or "",
        prerequisites=form.prerequisites.data or "",
        target_public=form.target_public.data or "",
        assessment_method=form.assessment_method.data or "",
        cap_per_company_per_session=form.cap_per_company_per_session.data,
        cap_per_company_per_year=form.cap_per_company_per_year.data,
        cancellation_days=form.cancellation_days.data,
        requires_approval=bool(form.requires_approval.data),
        funding_basis=form.funding_basis.data or None,
        funding_flow=form.funding_flow.data or None,
        dedit_rate_pct=form.dedit_rate_pct.data,
    )


def _fill(form: ActionForm, action: CollectiveAction) -> None:
    """Show an existing action in the form (GET of the edit page)."""
    for name in (
        "title",
        "reference",
        "theme_code",
        "modality",
        "objectives",
        "programme",
        "prerequisites",
        "target_public",
        "assessment_method",
        "requires_approval",
    ):
        form[name].data = getattr(action, name)
    form.duration_hours.data = f"{action.duration_hours.normalize():f}".replace(".", ",")
    form.campaign_year.data = str(action.campaign_year)
    form.price.data = _euros_input(action.price_cents)
    form.scope.data = "national" if action.is_national else "regional"
    form.region_codes.data = action.region_codes
    # All the OPCO's branches ticked reads the same as none: show them ticked, explicitly.
    form.idcc_codes.data = action.idcc_codes
    for code, _label, field in form.share_fields:
        share = action.share_for(code)
        field.data = "" if share is None else str(share)
    form.cap_per_company_per_session.data = str(action.cap_per_company_per_session or "")
    form.cap_per_company_per_year.data = str(action.cap_per_company_per_year or "")
    form.cancellation_days.data = str(action.cancellation_days)
    form.funding_basis.data = action.funding_basis or ""
    form.funding_flow.data = action.funding_flow or ""
    form.dedit_rate_pct.data = str(action.dedit_rate_pct or "")


def _new_action_defaults(form: ActionForm) -> None:
    form.campaign_year.data = str(paris_today().year)
    for _code, _label, field in form.share_fields:
        field.data = "100"
    form.cancellation_days.data = "10"
    form.scope.data = "national"


def _form_page(form: ActionForm, action: CollectiveAction | None):
    return render("opco/catalogue/form.html", form=form, action=action)


@bp.route("/catalogue/nouvelle", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def action_new():
    form = _action_form()
    if request.method == "GET":
        _new_action_defaults(form)
    return submit(
        form,
        lambda: catalogue.create_action(g.org, _action_input(form), current_user),
        page=lambda: _form_page(form, None),
        done=lambda action: url_for("opco.action_detail", action_id=action.id),
        message=lambda action: f"L'action « {action.title} » est enregistrée en brouillon.",
    )


@bp.route("/catalogue/<int:action_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def action_edit(action_id: int):
    action = _get_action(action_id)
    form = _action_form(action)
    if action.status != ActionStatus.DRAFT:
        form.reference.render_kw = {"readonly": True}
        form.reference.description = "La référence d'une action publiée ne change plus."
    if request.method == "GET":
        _fill(form, action)

    def finish(changed: bool) -> str:
        if not changed:
            flash("Aucune modification à enregistrer.", "info")
        return url_for("opco.action_detail", action_id=action_id)

    return submit(
        form,
        lambda: catalogue.update_action(action, _action_input(form), current_user),
        page=lambda: _form_page(form, action),
        done=finish,
        message=lambda changed: (
            f"Les modifications de l'action « {action.title} » sont enregistrées." if changed else None
        ),
    )


@bp.post("/catalogue/<int:action_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def action_transition(action_id: int):
    action = _get_action(action_id)
    event = request.form.get("event", "")
    title = action.title
    # The buttons are boosted by htmx: a refusal also goes back to the action's page (303, message flashed),
    # so the address shown stays the page's and never becomes this POST-only URL.
    back = url_for("opco.action_detail", action_id=action_id)
    return perform(
        lambda: catalogue.transition(action, event, current_user),
        done=back,
        message=lambda _: ACTION_DONE[event].format(title=title),
        failed=back,
    )


# --- Referencings -----------------------------------------------------------------------------------


def _referencing_page(form, action: CollectiveAction, referencing: Referencing | None):
    return render("opco/catalogue/referencing_form.html", form=form, action=action, referencing=referencing)


def _referencings_url(action_id: int) -> str:
    return url_for("opco.action_detail", action_id=action_id, _anchor="referencements")


@bp.route("/catalogue/<int:action_id>/referencements/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def referencing_new(action_id: int):
    action = _get_action(action_id)
    today = paris_today()
    form = ReferencingForm()
    # Organisations on the platform not yet referenced; those without a valid Qualiopi shown but disabled.
    form.provider_id.choices = [SelectChoice("", "— Choisissez un organisme —")] + [
        SelectChoice(str(option.id), option.label, {"disabled": True} if option.disabled else {})
        for option in catalogue_pages.provider_options(action, today)
    ]
    if request.method == "GET":
        form.valid_from.data, form.valid_until.data = catalogue_pages.default_referencing_period(
            action, today
        )
        form.price.data = _euros_input(action.price_cents)
    title = action.title
    return submit(
        form,
        lambda: referencings.reference_chosen_provider(
            action,
            parse_int(form.provider_id.data),
            form.valid_from.data,
            form.valid_until.data,
            form.price.data,
            current_user,
            today=today,
        ),
        page=lambda: _referencing_page(form, action, None),
        done=lambda referencing: _referencings_url(action_id),
        message=lambda referencing: f"{referencing.provider.name} est référencé sur l'action « {title} ».",
    )


@bp.route("/catalogue/<int:action_id>/referencements/<int:referencing_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def referencing_edit(action_id: int, referencing_id: int):
    action = _get_action(action_id)
    referencing = _get_referencing(action, referencing_id)
    form = ReferencingEditForm()
    if request.method == "GET":
        form.valid_from.data = referencing.valid_from
        form.valid_until.data = referencing.valid_until
        form.price.data = _euros_input(referencing.price_cents)
        form.pricing_mode.data = referencing.pricing_mode
        form.hourly_rate.data = (
            _euros_input(referencing.hourly_rate_cents) if referencing.hourly_rate_cents else ""
        )
        form.group_price.data = (
            _euros_input(referencing.group_price_cents) if referencing.group_price_cents else ""
        )
        form.group_threshold.data = str(referencing.group_threshold_pct or "")
    name = referencing.provider.name
    return submit(
        form,
        lambda: referencings.change_referencing_terms(
            referencing,
            form.valid_from.data,
            form.valid_until.data,
            form.price.data,
            current_user,
            pricing=(
                form.pricing_mode.data,
                form.hourly_rate.data,
                form.group_price.data,
                form.group_threshold.data,
            ),
        ),
        page=lambda: _referencing_page(form, action, referencing),
        done=_referencings_url(action_id),
        message=f"Le référencement {of_name(name)} est modifié.",
    )


@bp.post("/catalogue/<int:action_id>/referencements/<int:referencing_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def referencing_transition(action_id: int, referencing_id: int):
    action = _get_action(action_id)
    referencing = _get_referencing(action, referencing_id)
    event = request.form.get("event", "")
    name = referencing.provider.name
    return perform(
        lambda: referencings.transition_referencing(
            referencing, event, current_user, reason=request.form.get("reason")
        ),
        done=_referencings_url(action_id),
        message=lambda _: REFERENCING_DONE[event].format(name=name),
        failed=lambda error: _detail_page(action),
    )
