"""Company side of enrolments: enrol employees on a session, follow, cancel, replace, answer offers."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from marketplace.blueprints.company.routes import bp
from marketplace.extensions import db
from marketplace.models import Employee, Enrolment, EnrolmentStatus, utcnow
from marketplace.services import eligibility, enrolments, funding
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import size_band
from marketplace.services.roles import Perm
from marketplace.web.guard import get_owned, require

PER_PAGE = 25


def _visible_session(session_id: int):
    session = eligibility.session_for_company(g.org, session_id)
    if session is None:
        abort(404)
    return session


def _employees():
    return db.session.scalars(
        select(Employee)
        .where(Employee.company_id == g.org.id, Employee.erased_at.is_(None))
        .order_by(Employee.last_name, Employee.first_name)
    ).all()


@bp.route("/sessions/<int:session_id>/inscrire", methods=["GET", "POST"])
@require(Perm.ENROL)
def enrol(session_id: int):
    session = _visible_session(session_id)
    now = utcnow()
    today = enrolments.paris_today(now)
    outcomes = None
    status = 200
    if request.method == "POST":
        raw_ids = request.form.getlist("employee_ids")
        try:
            ids = [int(i) for i in raw_ids]
            outcomes = enrolments.enrol(g.org, session.id, ids, current_user, now=now)
        except ValueError:
            db.session.rollback()
            flash("Choisissez les salariés dans la liste.", "error")
            status = 400
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = 400
        else:
            db.session.commit()
            return render_template("company/enrolments/outcomes.html", session=session, outcomes=outcomes)
    counts = eligibility.company_counts(g.org, [session])
    reasons = eligibility.blockers(g.org, session, today, counts)
    enrolled_ids = set(
        db.session.scalars(
            select(Enrolment.employee_id).where(
                Enrolment.session_id == session.id,
                Enrolment.company_id == g.org.id,
                Enrolment.status.in_(EnrolmentStatus.ACTIVE),
            )
        )
    )
    return render_template(
        "company/enrolments/enrol.html",
        session=session,
        employees=_employees(),
        enrolled_ids=enrolled_ids,
        reasons=reasons,
        figures=funding.for_session(session, size_band(g.org.headcount)),
        seats_left=enrolments.seats_left(session, now),
        deadline=enrolments.cancellation_deadline(session),
    ), status


@bp.get("/inscriptions")
@require(Perm.VIEW_DASHBOARD)
def enrolment_list():
    state = request.args.get("etat", "")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(Enrolment).where(Enrolment.company_id == g.org.id)
    if state in EnrolmentStatus.LABELS:
        query = query.where(Enrolment.status == state)
    elif state == "actives":
        query = query.where(Enrolment.status.in_(EnrolmentStatus.ACTIVE))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Enrolment.created_at.desc(), Enrolment.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).unique().all()
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "company/enrolments/list.html", rows=rows, total=total, page=page, pages=pages, state=state,
        labels=EnrolmentStatus.LABELS, now=utcnow(),
    )


@bp.get("/inscriptions/<int:enrolment_id>")
@require(Perm.VIEW_DASHBOARD)
def enrolment_detail(enrolment_id: int):
    enrolment = get_owned(Enrolment, enrolment_id, column="company_id")
    now = utcnow()
    today = enrolments.paris_today(now)
    return render_template(
        "company/enrolments/detail.html",
        enrolment=enrolment,
        now=now,
        position=enrolments.waitlist_position(enrolment),
        deadline=enrolments.cancellation_deadline(enrolment.session),
        late=enrolments.is_late_cancellation(enrolment, today),
        employees=[e for e in _employees() if e.id != enrolment.employee_id],
        started=today >= enrolment.session.start_date,
    )


def _act(enrolment_id: int, action, success: str):
    enrolment = get_owned(Enrolment, enrolment_id, column="company_id")
    try:
        action(enrolment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success.format(name=enrolment.employee.full_name), "success")
    return redirect(url_for("company.enrolment_detail", enrolment_id=enrolment_id)), 303


@bp.post("/inscriptions/<int:enrolment_id>/annuler")
@require(Perm.ENROL)
def cancel_enrolment(enrolment_id: int):
    def do(enrolment):
        enrolments.cancel(enrolment, current_user)
        if enrolment.is_late_cancellation:
            flash("Annulation hors délai : l'organisme de formation peut facturer un dédit selon ses conditions.",
                  "warning")

    return _act(enrolment_id, do, "L'inscription de {name} est annulée.")


@bp.post("/inscriptions/<int:enrolment_id>/remplacer")
@require(Perm.ENROL)
def replace_enrolment(enrolment_id: int):
    new_id = request.form.get("employee_id", type=int)

    def do(enrolment):
        if new_id is None:
            raise DomainError("Choisissez le salarié qui remplace la personne inscrite.")
        enrolments.replace(enrolment, new_id, current_user)

    return _act(enrolment_id, do, "{name} remplace désormais la personne inscrite.")


@bp.post("/inscriptions/<int:enrolment_id>/accepter")
@require(Perm.ENROL)
def accept_offer(enrolment_id: int):
    return _act(enrolment_id, lambda e: enrolments.accept_offer(e, current_user),
                "La place est acceptée pour {name}.")


@bp.post("/inscriptions/<int:enrolment_id>/decliner")
@require(Perm.ENROL)
def decline_offer(enrolment_id: int):
    return _act(enrolment_id, lambda e: enrolments.decline_offer(e, current_user),
                "La place proposée à {name} est déclinée ; elle va à la personne suivante.")
