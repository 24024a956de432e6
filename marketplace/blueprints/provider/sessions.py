"""Training organisation: its sessions (list, create, edit, detail with trainees, state changes, exports)."""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.provider.routes import bp
from marketplace.blueprints.provider.session_forms import (
    MAX_SLOT_ROWS,
    CancelForm,
    PostponeForm,
    SessionFilterForm,
    SessionForm,
)
from marketplace.formatting import paris_today
from marketplace.models import SessionStatus, TrainingSession
from marketplace.services import convocation_pages, exports, session_pages
from marketplace.services import sessions as service
from marketplace.services.roles import Perm
from marketplace.web.actions import download, perform, render, see_other, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_arg, page_arg

STATUS_BADGES = {
    SessionStatus.DRAFT: "badge-neutral",
    SessionStatus.OPEN: "badge-ok",
    SessionStatus.CLOSED: "badge-neutral",
    SessionStatus.CONFIRMED: "badge-ok",
    SessionStatus.IN_PROGRESS: "badge-ok",
    SessionStatus.COMPLETED: "badge-neutral",
    SessionStatus.POSTPONED: "badge-warning",
    SessionStatus.CANCELLED: "badge-error",
    SessionStatus.DELIVERED: "badge-ok",
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
    return paris_today()


def _owned_session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="provider_id")


def _detail_url(session_id: int) -> str:
    return url_for("provider.session_detail", session_id=session_id)


def _add_rows(form) -> None:
    """Enough half-day rows: the filled ones plus a few empty, or more when asked (« Afficher plus de lignes »,
    ``lignes``, at most 60; a malformed or huge value is ignored)."""
    filled = len([e for e in form.slots.entries if not e.form.is_empty()])
    asked = min(int_arg("lignes", 0, minimum=0) or 0, MAX_SLOT_ROWS)
    form.ensure_rows(max(asked, filled + 4))


# --- List ---------------------------------------------------------------------------------------------------


@bp.get("/sessions")
@require(Perm.VIEW_DASHBOARD)
def sessions():
    status, period = session_pages.clean_filters(request.args.get("status"), request.args.get("period"))
    form = SessionFilterForm(formdata=None, status=status, period=period)
    result = session_pages.sessions_for_provider(
        g.org, status=status or None, period=period, page=page_arg(), today=_today()
    )
    args = {"status": status, "period": period if period != "upcoming" else ""}
    return render(
        "provider/sessions/list.html",
        fragment="provider/sessions/_rows.html",
        form=form,
        result=result,
        args={k: v for k, v in args.items() if v},
        badges=STATUS_BADGES,
    )


# --- Create and edit ----------------------------------------------------------------------------------------


@bp.route("/sessions/nouvelle", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def new_session():
    today = _today()
    choices = session_pages.new_session_form(g.org, today)
    form = SessionForm()
    # Only this organisation's referencings can be chosen: any other id is refused by the form, unchanged.
    form.referencing_id.choices = choices.referencing_choices
    form.region_code.choices = choices.regions
    if not form.is_submitted():
        form.contact_name.data = form.contact_name.data or current_user.full_name
        form.contact_email.data = form.contact_email.data or current_user.email

    def page():
        _add_rows(form)
        return render(
            "provider/sessions/form.html",
            form=form,
            session=None,
            referencings=choices.referencings,
            qualiopi_problem=choices.qualiopi_problem,
        )

    return submit(
        form,
        lambda: service.create_session(g.org, form.to_input(), current_user, today),
        page=page,
        done=lambda session: _detail_url(session.id),
        message="La session est créée en brouillon. Vérifiez-la puis ouvrez les inscriptions.",
    )


@bp.route("/sessions/<int:session_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def edit_session(session_id: int):
    session = _owned_session(session_id)
    refusal = session_pages.not_editable(session)
    if refusal:
        flash(refusal, "error")
        return see_other(_detail_url(session_id))
    form = SessionForm(formdata=None, obj=session) if request.method == "GET" else SessionForm()
    del form.referencing_id  # the action of a session never changes
    form.region_code.choices = session_pages.region_choices()

    def page():
        _add_rows(form)
        return render(
            "provider/sessions/form.html",
            form=form,
            session=session,
            referencings=None,
            qualiopi_problem=None,
        )

    return submit(
        form,
        lambda: service.update_session(
            session, form.to_input(referencing_id=session.referencing_id), current_user, _today()
        ),
        page=page,
        done=_detail_url(session_id),
        message="La session est enregistrée.",
    )


# --- Detail and state changes -------------------------------------------------------------------------------


@bp.get("/sessions/<int:session_id>")
@require(Perm.VIEW_DASHBOARD)
def session_detail(session_id: int):
    session = _owned_session(session_id)
    data = session_pages.session_detail(session)
    return render(
        "provider/sessions/detail.html",
        convocations=convocation_pages.session_section(session, _today()),
        session=session,
        trainees=data.trainees,
        seats_left=data.seats_left,
        events=data.events,
        with_form=WITH_FORM,
        editable=data.editable,
        badges=STATUS_BADGES,
    )


@bp.post("/sessions/<int:session_id>/etat")
@require(Perm.MANAGE_SESSIONS)
def session_transition(session_id: int):
    session = _owned_session(session_id)
    event = request.form.get("event", "")
    if event in WITH_FORM:
        return see_other(url_for(WITH_FORM[event], session_id=session.id))
    # A button of the detail page (boosted by htmx): success or refusal, back to the page with the message.
    return perform(
        lambda: service.transition(session, event, current_user),
        done=_detail_url(session_id),
        message=SUCCESS.get(event),
    )


def _move_page_refused(session: TrainingSession, event: str):
    """The page of a move that is not possible from the session's state: back to the session, with why."""
    refusal = session_pages.refusal_of(session, event)
    if refusal is None:
        return None
    flash(refusal, "error")
    return see_other(_detail_url(session.id))


@bp.route("/sessions/<int:session_id>/reporter", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def postpone_session(session_id: int):
    session = _owned_session(session_id)
    refused = _move_page_refused(session, "postpone")
    if refused:
        return refused
    form = PostponeForm()

    def page():
        _add_rows(form)
        return render("provider/sessions/postpone.html", form=form, session=session)

    return submit(
        form,
        lambda: service.transition(
            session, "postpone", current_user, reason=form.reason.data, new_slots=form.slot_inputs()
        ),
        page=page,
        done=_detail_url(session_id),
        message=SUCCESS["postpone"],
    )


@bp.route("/sessions/<int:session_id>/annuler", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def cancel_session(session_id: int):
    session = _owned_session(session_id)
    refused = _move_page_refused(session, "cancel")
    if refused:
        return refused
    form = CancelForm()

    def page():
        active = session_pages.trainees(session).active
        return render("provider/sessions/cancel.html", form=form, session=session, active=active)

    return submit(
        form,
        lambda: service.transition(session, "cancel", current_user, reason=form.reason.data),
        page=page,
        done=_detail_url(session_id),
        message=SUCCESS["cancel"],
    )


# --- Exports ------------------------------------------------------------------------------------------------


@bp.get("/sessions/<int:session_id>/stagiaires.csv")
@require(Perm.VIEW_DASHBOARD)
def export_trainees_csv(session_id: int):
    return download(exports.session_trainees(_owned_session(session_id)), "csv")


@bp.get("/sessions/<int:session_id>/stagiaires.xlsx")
@require(Perm.VIEW_DASHBOARD)
def export_trainees_xlsx(session_id: int):
    return download(exports.session_trainees(_owned_session(session_id)), "xlsx")
