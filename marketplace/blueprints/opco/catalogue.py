"""OPCO catalogue management: actions (list, create, edit, publish, archive) and referencings of organisations."""

from __future__ import annotations

from datetime import date, timedelta
from math import ceil

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from marketplace.blueprints.opco.catalogue_forms import ActionForm, ReferencingEditForm, ReferencingForm
from marketplace.blueprints.opco.routes import bp
from marketplace.extensions import db
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Modality,
    Referencing,
    ReferencingStatus,
    Region,
    Theme,
    TrainingProvider,
)
from marketplace.services import catalogue
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import format_siret
from marketplace.services.roles import Perm
from marketplace.web.forms import attach_error
from marketplace.web.guard import get_owned, require

PER_PAGE = 25

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
    referencing = get_owned(Referencing, referencing_id, column="opco_id")
    if referencing.action_id != action.id:
        abort(404)
    return referencing


# --- List and detail --------------------------------------------------------------------------------


@bp.get("/catalogue")
@require(Perm.VIEW_DASHBOARD)
def actions():
    status = request.args.get("statut", "")
    if status not in ActionStatus.LABELS:
        status = ""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(CollectiveAction).where(CollectiveAction.opco_id == g.org.id)
    if status:
        query = query.where(CollectiveAction.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(page, max(1, ceil(total / PER_PAGE)))
    rows = db.session.scalars(
        query.order_by(CollectiveAction.campaign_year.desc(), CollectiveAction.title, CollectiveAction.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    ids = [a.id for a in rows]
    return render_template(
        "opco/catalogue/list.html",
        actions=rows,
        total=total,
        status=status,
        labels=ActionStatus.LABELS,
        modality_labels=Modality.LABELS,
        counts=catalogue.status_counts(g.org.id),
        sessions=catalogue.session_counts(ids),
        referenced=catalogue.active_referencings(ids),
        page=page,
        pages=max(1, ceil(total / PER_PAGE)),
        args={"statut": status} if status else {},
    )


@bp.get("/catalogue/<int:action_id>")
@require(Perm.VIEW_DASHBOARD)
def action_detail(action_id: int):
    action = _get_action(action_id)
    referencings = db.session.scalars(
        select(Referencing).where(Referencing.action_id == action.id).order_by(Referencing.id)
    ).all()
    return render_template(
        "opco/catalogue/detail.html",
        action=action,
        labels=ActionStatus.LABELS,
        modality_labels=Modality.LABELS,
        referencing_labels=ReferencingStatus.LABELS,
        preview=catalogue.funding_preview(action),
        problems=catalogue.publish_problems(action) if action.status == ActionStatus.DRAFT else [],
        events=[e for e in catalogue.ACTION_MACHINE.allowed(action.status) if e in catalogue.ACTION_EVENTS],
        machine=catalogue.ACTION_MACHINE,
        referencings=referencings,
        referencing_machine=catalogue.REFERENCING_MACHINE,
        sessions=catalogue.session_counts([action.id]).get(action.id, 0),
        today=date.today(),
    )


# --- Create and edit --------------------------------------------------------------------------------


def _action_form(action: CollectiveAction | None = None) -> ActionForm:
    form = ActionForm()
    form.theme_code.choices = [SelectChoice("", "— Choisissez —")] + [
        SelectChoice(t.code, f"{t.code} – {t.label}")
        for t in db.session.scalars(select(Theme).order_by(Theme.code))
    ]
    form.modality.choices = [SelectChoice("", "— Choisissez —")] + [
        SelectChoice(code, label) for code, label in Modality.LABELS.items()
    ]
    years = catalogue.campaign_years()
    if action is not None and action.campaign_year not in years:
        years = sorted({*years, action.campaign_year})
    form.campaign_year.choices = [SelectChoice(str(y)) for y in years]
    form.region_codes.choices = [
        SelectChoice(r.code, r.name) for r in db.session.scalars(select(Region).order_by(Region.name))
    ]
    form.idcc_codes.choices = [
        SelectChoice(b.idcc, f"IDCC {b.idcc} – {b.branch.label}") for b in g.org.branches
    ]
    return form


def _action_input(form: ActionForm) -> catalogue.ActionInput:
    return catalogue.ActionInput(
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
        cap_per_company_per_session=form.cap_per_company_per_session.data,
        cap_per_company_per_year=form.cap_per_company_per_year.data,
        cancellation_days=form.cancellation_days.data,
        requires_approval=bool(form.requires_approval.data),
    )


def _attach_all(form, error: DomainError) -> None:
    for name, message in getattr(error, "errors", {error.field: error.message}).items():
        attach_error(form, DomainError(message, field=name))


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


def _new_action_defaults(form: ActionForm) -> None:
    form.campaign_year.data = str(date.today().year)
    for _code, _label, field in form.share_fields:
        field.data = "100"
    form.cancellation_days.data = "10"
    form.scope.data = "national"


@bp.route("/catalogue/nouvelle", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def action_new():
    form = _action_form()
    if request.method == "GET":
        _new_action_defaults(form)
        return render_template("opco/catalogue/form.html", form=form, action=None)
    if form.validate_on_submit():
        try:
            action = catalogue.create_action(g.org, _action_input(form), current_user)
        except DomainError as error:
            db.session.rollback()
            _attach_all(form, error)
        else:
            db.session.commit()
            flash(f"L'action « {action.title} » est enregistrée en brouillon.", "success")
            return redirect(url_for("opco.action_detail", action_id=action.id))
    return render_template("opco/catalogue/form.html", form=form, action=None), 422


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
        return render_template("opco/catalogue/form.html", form=form, action=action)
    if form.validate_on_submit():
        try:
            changed = catalogue.update_action(action, _action_input(form), current_user)
        except DomainError as error:
            db.session.rollback()
            _attach_all(form, error)
        else:
            db.session.commit()
            if changed:
                flash(f"Les modifications de l'action « {action.title} » sont enregistrées.", "success")
            else:
                flash("Aucune modification à enregistrer.", "info")
            return redirect(url_for("opco.action_detail", action_id=action.id))
    return render_template("opco/catalogue/form.html", form=form, action=action), 422


@bp.post("/catalogue/<int:action_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def action_transition(action_id: int):
    action = _get_action(action_id)
    event = request.form.get("event", "")
    if event not in catalogue.ACTION_EVENTS:
        flash("Cette action n'est pas possible.", "error")
        return redirect(url_for("opco.action_detail", action_id=action.id), 303)
    try:
        catalogue.transition(action, event, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(ACTION_DONE[event].format(title=action.title), "success")
    return redirect(url_for("opco.action_detail", action_id=action.id), 303)


# --- Referencings -----------------------------------------------------------------------------------


def _provider_choices(action: CollectiveAction, today: date):
    """All organisations on the platform not yet referenced; those without valid Qualiopi shown but disabled."""
    choices = [SelectChoice("", "— Choisissez un organisme —")]
    for provider in catalogue.referenceable_providers(action):
        problem = catalogue.qualiopi_problem(provider, today)
        if problem is None:
            validity = f"Qualiopi valide jusqu'au {provider.qualiopi_expires_on:%d/%m/%Y}"
        elif "actions_formation" not in provider.qualiopi_category_list:
            validity = "non certifié Qualiopi « Actions de formation »"
        else:
            validity = f"Qualiopi expiré le {provider.qualiopi_expires_on:%d/%m/%Y}"
        label = f"{provider.name} — SIRET {format_siret(provider.siret)} — {validity}"
        choices.append(SelectChoice(str(provider.id), label, {"disabled": True} if problem else {}))
    return choices


@bp.route("/catalogue/<int:action_id>/referencements/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def referencing_new(action_id: int):
    action = _get_action(action_id)
    today = date.today()
    form = ReferencingForm()
    form.provider_id.choices = _provider_choices(action, today)
    if request.method == "GET":
        form.valid_from.data = today
        end_of_campaign = date(action.campaign_year, 12, 31)
        form.valid_until.data = end_of_campaign if end_of_campaign >= today else today + timedelta(days=365)
        form.price.data = _euros_input(action.price_cents)
        return render_template(
            "opco/catalogue/referencing_form.html", form=form, action=action, referencing=None
        )
    if form.validate_on_submit():
        provider = (
            db.session.get(TrainingProvider, int(form.provider_id.data))
            if form.provider_id.data.isdigit()
            else None
        )
        try:
            price = catalogue.parse_euros(form.price.data, "price", "Le prix négocié")
            referencing = catalogue.reference_provider(
                action,
                provider,
                form.valid_from.data,
                form.valid_until.data,
                price,
                current_user,
                today=today,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(f"{referencing.provider.name} est référencé sur l'action « {action.title} ».", "success")
            return redirect(url_for("opco.action_detail", action_id=action.id, _anchor="referencements"))
    return render_template(
        "opco/catalogue/referencing_form.html", form=form, action=action, referencing=None
    ), 422


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
        return render_template(
            "opco/catalogue/referencing_form.html", form=form, action=action, referencing=referencing
        )
    if form.validate_on_submit():
        try:
            price = catalogue.parse_euros(form.price.data, "price", "Le prix négocié")
            catalogue.update_referencing(
                referencing, form.valid_from.data, form.valid_until.data, price, current_user
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(f"Le référencement de {referencing.provider.name} est modifié.", "success")
            return redirect(url_for("opco.action_detail", action_id=action.id, _anchor="referencements"))
    return render_template(
        "opco/catalogue/referencing_form.html", form=form, action=action, referencing=referencing
    ), 422


@bp.post("/catalogue/<int:action_id>/referencements/<int:referencing_id>/etat")
@require(Perm.MANAGE_CATALOGUE)
def referencing_transition(action_id: int, referencing_id: int):
    action = _get_action(action_id)
    referencing = _get_referencing(action, referencing_id)
    event = request.form.get("event", "")
    name = referencing.provider.name
    try:
        catalogue.transition_referencing(referencing, event, current_user, reason=request.form.get("reason"))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(REFERENCING_DONE[event].format(name=name), "success")
    return redirect(url_for("opco.action_detail", action_id=action.id, _anchor="referencements"), 303)
