"""Company side of enrolments: enrol employees on a session, follow, cancel, replace, answer offers."""

from __future__ import annotations

from flask import abort, flash, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.company.routes import bp
from marketplace.models import Enrolment, EnrolmentStatus, utcnow
from marketplace.services import convocation_pages, eligibility, enrolment_pages, enrolments, waitlist
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_list, page_arg, parse_int


def _visible_session(session_id: int):
    session = eligibility.session_for_company(g.org, session_id)
    if session is None:
        abort(404)
    return session


def _enrol_page(session_id: int):
    data = enrolment_pages.enrol_form(g.org, _visible_session(session_id), utcnow())
    return render("company/enrolments/enrol.html", **vars(data))


@bp.route("/sessions/<int:session_id>/inscrire", methods=["GET", "POST"])
@require(Perm.ENROL)
def enrol(session_id: int):
    session = _visible_session(session_id)
    if request.method == "GET":
        return _enrol_page(session_id)
    ids = int_list(request.form.getlist("employee_ids"))

    def action():
        if ids is None:
            raise DomainError("Choisissez les salariés dans la liste.")
        return enrolments.enrol(g.org, session.id, ids, current_user, now=utcnow())

    return perform(
        action,
        done=lambda outcomes: render("company/enrolments/outcomes.html", session=session, outcomes=outcomes),
        failed=lambda error: _enrol_page(session_id),
        reload=False,  # the outcome page shows what was just written: nothing to read again
    )


@bp.get("/inscriptions")
@require(Perm.VIEW_DASHBOARD)
def enrolment_list():
    state = request.args.get("etat", "")
    if state not in EnrolmentStatus.LABELS and state != enrolment_pages.ACTIVE_FILTER:
        state = ""
    result = enrolment_pages.enrolment_list(g.org, state, page_arg())
    return render(
        "company/enrolments/list.html",
        rows=result.items,
        total=result.total,
        page=result.page,
        pages=result.pages,
        state=state,
        labels=EnrolmentStatus.LABELS,
        now=utcnow(),
    )


def _detail_page(enrolment_id: int):
    enrolment = get_owned(Enrolment, enrolment_id, column="company_id")
    data = enrolment_pages.enrolment_detail(enrolment, utcnow())
    return render(
        "company/enrolments/detail.html",
        enrolment=enrolment,
        now=utcnow(),
        position=data.position,
        deadline=data.deadline,
        late=data.late,
        employees=data.replacements,
        started=data.started,
        convocation=convocation_pages.enrolment_convocation(enrolment),
    )


@bp.get("/inscriptions/<int:enrolment_id>")
@require(Perm.VIEW_DASHBOARD)
def enrolment_detail(enrolment_id: int):
    return _detail_page(enrolment_id)


def _act(enrolment_id: int, action, success: str):
    """A button on the enrolment's page: the service call, then back to the page (or the page again, 422)."""
    enrolment = get_owned(Enrolment, enrolment_id, column="company_id")
    return perform(
        lambda: action(enrolment),
        done=url_for("company.enrolment_detail", enrolment_id=enrolment_id),
        message=lambda _: success.format(name=enrolment.employee.full_name),
        failed=lambda error: _detail_page(enrolment_id),
    )


@bp.post("/inscriptions/<int:enrolment_id>/annuler")
@require(Perm.ENROL)
def cancel_enrolment(enrolment_id: int):
    def do(enrolment):
        enrolments.cancel(enrolment, current_user)
        if enrolment.is_late_cancellation:
            flash(
                "Annulation hors délai : l'organisme de formation peut facturer un dédit selon ses conditions.",
                "warning",
            )

    return _act(enrolment_id, do, "L'inscription de {name} est annulée.")


@bp.post("/inscriptions/<int:enrolment_id>/remplacer")
@require(Perm.ENROL)
def replace_enrolment(enrolment_id: int):
    new_id = parse_int(request.form.get("employee_id"))

    def do(enrolment):
        if new_id is None:
            raise DomainError("Choisissez le salarié qui remplace la personne inscrite.", field="employee_id")
        enrolments.replace(enrolment, new_id, current_user)

    return _act(enrolment_id, do, "{name} remplace désormais la personne inscrite.")


@bp.post("/inscriptions/<int:enrolment_id>/accepter")
@require(Perm.ENROL)
def accept_offer(enrolment_id: int):
    return _act(
        enrolment_id, lambda e: waitlist.accept_offer(e, current_user), "La place est acceptée pour {name}."
    )


@bp.post("/inscriptions/<int:enrolment_id>/decliner")
@require(Perm.ENROL)
def decline_offer(enrolment_id: int):
    return _act(
        enrolment_id,
        lambda e: waitlist.decline_offer(e, current_user),
        "La place proposée à {name} est déclinée ; elle va à la personne suivante.",
    )
