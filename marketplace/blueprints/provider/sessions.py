"""Training organisation: its sessions (list, create, edit, detail with trainees, state changes, exports)."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.blueprints.provider.routes import bp
from marketplace.blueprints.provider.session_forms import (
    CancelForm,
    PostponeForm,
    SessionFilterForm,
    SessionForm,
)
from marketplace.extensions import db
from marketplace.formatting import date_fr, money_fr, to_paris
from marketplace.models import SessionStatus, TrainingSession, utcnow
from marketplace.services import exports
from marketplace.services import sessions as service
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.forms import attach_error, region_choices
from marketplace.web.guard import get_owned, require

STATUS_BADGES = {
    SessionStatus.DRAFT: "badge-neutral",
    SessionStatus.OPEN: "badge-ok",
    SessionStatus.CLOSED: "badge-neutral",
    SessionStatus.CONFIRMED: "badge-ok",
    SessionStatus.IN_PROGRESS: "badge-ok",
    SessionStatus.COMPLETED: "badge-neutral",
    SessionStatus.POSTPONED: "badge-warning",
    SessionStatus.CANCELLED: "badge-error",
}
# Moves that need a page of their own (new dates, a reason) rather than a one-click button.
WITH_FORM = {"postpone": "provider.postpone_session", "cancel": "provider.cancel_session"}
SUCCESS = {
    "publish": "Les inscriptions sont ouvertes : la session apparaît dans le catalogue des entreprises.",
    "close_registrations": "Les inscriptions sont closes.",
    "reopen": "Les inscriptions sont rouvertes.",
    "confirm": "La session est confirmée ; les entreprises et les stagiaires inscrits sont prévenus.",
    "start": "La session est en cours.",
    "complete": "La session est déclarée réalisée.",
    "postpone": "La session est reportée ; les entreprises et les stagiaires inscrits sont prévenus.",
    "cancel": "La session est annulée ; les inscriptions sont annulées et chacun est prévenu.",
}


def _today():
    return to_paris(utcnow()).date()


def _owned_session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="provider_id")


def _referencing_label(referencing) -> str:
    action = referencing.action
    return (
        f"{action.title} ({action.reference}) — {action.opco.name} — {money_fr(referencing.price_cents, 'HT')} "
        f"par stagiaire — référencé jusqu'au {date_fr(referencing.valid_until)}"
    )


def _add_rows(form) -> None:
    """Enough half-day rows: the filled ones plus a few empty, or more when asked (« Afficher plus de lignes »)."""
    filled = len([e for e in form.slots.entries if not e.form.is_empty()])
    form.ensure_rows(max(request.args.get("lignes", 0, type=int), filled + 4))


def _qualiopi_problem() -> str | None:
    try:
        service.check_qualiopi(g.org, _today())
    except DomainError as error:
        return error.message
    return None


# --- List ---------------------------------------------------------------------------------------------------


@bp.get("/sessions")
@require(Perm.VIEW_DASHBOARD)
def sessions():
    form = SessionFilterForm(request.args)
    form.validate()
    status = form.status.data or None
    period = form.period.data if form.period.data in service.PERIODS else "upcoming"
    page = request.args.get("page", 1, type=int) or 1
    result = service.sessions_for_provider(g.org, status=status, period=period, page=page, today=_today())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    g.vary_hx = True
    template = "provider/sessions/_rows.html" if request.headers.get("HX-Request") else "provider/sessions/list.html"
    return render_template(template, form=form, result=result, args=args, badges=STATUS_BADGES)


# --- Create and edit ----------------------------------------------------------------------------------------


@bp.route("/sessions/nouvelle", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def new_session():
    today = _today()
    referencings = service.referencings_for(g.org, today)
    form = SessionForm()
    form.referencing_id.choices = [(r.id, _referencing_label(r)) for r in referencings]
    form.region_code.choices = region_choices()
    if request.method == "GET":
        form.contact_name.data = form.contact_name.data or current_user.full_name
        form.contact_email.data = form.contact_email.data or current_user.email
    status = 200
    if form.validate_on_submit():
        try:
            session = service.create_session(g.org, form.to_input(), current_user, today)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = 422
        else:
            db.session.commit()
            flash("La session est créée en brouillon. Vérifiez-la puis ouvrez les inscriptions.", "success")
            return redirect(url_for("provider.session_detail", session_id=session.id), 303)
    elif request.method == "POST":
        status = 422
    _add_rows(form)
    return render_template(
        "provider/sessions/form.html",
        form=form,
        session=None,
        referencings=referencings,
        qualiopi_problem=_qualiopi_problem(),
    ), status


@bp.route("/sessions/<int:session_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def edit_session(session_id: int):
    session = _owned_session(session_id)
    if session.status not in service.EDITABLE:
        flash(f"Une session « {session.status_label} » ne peut plus être modifiée.", "error")
        return redirect(url_for("provider.session_detail", session_id=session.id), 303)
    form = SessionForm(formdata=None, obj=session) if request.method == "GET" else SessionForm()
    del form.referencing_id  # the action of a session never changes
    form.region_code.choices = region_choices()
    status = 200
    if form.validate_on_submit():
        try:
            service.update_session(session, form.to_input(referencing_id=session.referencing_id), current_user,
                                   _today())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = 422
        else:
            db.session.commit()
            flash("La session est enregistrée.", "success")
            return redirect(url_for("provider.session_detail", session_id=session_id), 303)
    elif request.method == "POST":
        status = 422
    _add_rows(form)
    return render_template(
        "provider/sessions/form.html", form=form, session=session, referencings=None, qualiopi_problem=None,
    ), status


# --- Detail and state changes -------------------------------------------------------------------------------


@bp.get("/sessions/<int:session_id>")
@require(Perm.VIEW_DASHBOARD)
def session_detail(session_id: int):
    session = _owned_session(session_id)
    return render_template(
        "provider/sessions/detail.html",
        session=session,
        trainees=service.trainees(session),
        seats_left=service.seats_left(session),
        events=service.allowed_events(session),
        with_form=WITH_FORM,
        editable=session.status in service.EDITABLE,
        badges=STATUS_BADGES,
    )


@bp.post("/sessions/<int:session_id>/etat")
@require(Perm.MANAGE_SESSIONS)
def session_transition(session_id: int):
    session = _owned_session(session_id)
    event = request.form.get("event", "")
    if event in WITH_FORM:
        return redirect(url_for(WITH_FORM[event], session_id=session.id), 303)
    try:
        service.transition(session, event, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(SUCCESS[event], "success")
    return redirect(url_for("provider.session_detail", session_id=session_id), 303)


def _refuse_unless_allowed(session: TrainingSession, event: str):
    if not service.SESSION.can(session.status, event):
        label = service.SESSION.transitions[event].label
        flash(f"« {label} » n'est pas possible pour une session « {session.status_label} ».", "error")
        return redirect(url_for("provider.session_detail", session_id=session.id), 303)
    return None


@bp.route("/sessions/<int:session_id>/reporter", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def postpone_session(session_id: int):
    session = _owned_session(session_id)
    refused = _refuse_unless_allowed(session, "postpone")
    if refused:
        return refused
    form = PostponeForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.transition(session, "postpone", current_user, reason=form.reason.data,
                               new_slots=form.slot_inputs())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = 422
        else:
            db.session.commit()
            flash(SUCCESS["postpone"], "success")
            return redirect(url_for("provider.session_detail", session_id=session_id), 303)
    elif request.method == "POST":
        status = 422
    _add_rows(form)
    return render_template("provider/sessions/postpone.html", form=form, session=session), status


@bp.route("/sessions/<int:session_id>/annuler", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def cancel_session(session_id: int):
    session = _owned_session(session_id)
    refused = _refuse_unless_allowed(session, "cancel")
    if refused:
        return refused
    form = CancelForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.transition(session, "cancel", current_user, reason=form.reason.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = 422
        else:
            db.session.commit()
            flash(SUCCESS["cancel"], "success")
            return redirect(url_for("provider.session_detail", session_id=session_id), 303)
    elif request.method == "POST":
        status = 422
    groups = service.trainees(session)
    active = groups.confirmed + groups.pending + groups.offered + groups.waitlist
    return render_template("provider/sessions/cancel.html", form=form, session=session, active=active), status


# --- Exports ------------------------------------------------------------------------------------------------


def _download(export: exports.Exporter, extension: str) -> Response:
    if extension == "csv":
        body, mimetype = export.to_csv(), exports.CSV_MIMETYPE
    else:
        body, mimetype = export.to_xlsx(), exports.XLSX_MIMETYPE
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(extension)}"'
    response.headers["Cache-Control"] = "private, no-store"  # personal data
    return response


@bp.get("/sessions/<int:session_id>/stagiaires.csv")
@require(Perm.VIEW_DASHBOARD)
def export_trainees_csv(session_id: int):
    session = _owned_session(session_id)
    return _download(exports.SessionTraineesExport(session, service.trainees(session)), "csv")


@bp.get("/sessions/<int:session_id>/stagiaires.xlsx")
@require(Perm.VIEW_DASHBOARD)
def export_trainees_xlsx(session_id: int):
    session = _owned_session(session_id)
    return _download(exports.SessionTraineesExport(session, service.trainees(session)), "xlsx")
