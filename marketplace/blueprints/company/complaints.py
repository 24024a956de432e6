"""Company: its complaints (réclamations) about its enrolments — file one, follow its treatment."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user
from wtforms import SelectField, StringField, TextAreaField

from marketplace.blueprints.company.routes import bp
from marketplace.models import Enrolment
from marketplace.models.limits import LONG_TEXT
from marketplace.services import complaints
from marketplace.services.errors import InvalidForm
from marketplace.services.roles import Perm
from marketplace.web.actions import render, submit
from marketplace.web.forms import Form, MaxLength
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg, parse_int


class CompanyComplaintForm(Form):
    # The enrolment is read scoped to the company by the view (404 otherwise).
    enrolment_id = SelectField("Inscription concernée", choices=[], validate_choice=False)
    # Checked by the service (required, 200 characters), which reports on these fields.
    subject = StringField("Objet de la réclamation")
    description = TextAreaField("Votre réclamation", validators=[MaxLength(LONG_TEXT)])


@bp.get("/reclamations")
@require(Perm.VIEW_DASHBOARD)
def complaints_list():
    state = complaints.clean_state(request.args.get("statut"))
    return render(
        "company/complaints/list.html",
        state=state,
        states=complaints.C.LABELS,
        result=complaints.page_for(g.org, state, page_arg()),
    )


@bp.route("/reclamations/nouvelle", methods=["GET", "POST"])
@require(Perm.ENROL)
def new_complaint():
    form = CompanyComplaintForm()
    choices = complaints.filable_enrolments(g.org.id)
    form.enrolment_id.choices = [("", "Choisissez une inscription")] + [
        (str(e.id), f"{e.employee.display_name} — {e.session.action.title} ({e.session.start_date:%d/%m/%Y})")
        for e in choices
    ]
    if not form.is_submitted():
        form.enrolment_id.data = request.args.get("inscription", "")

    def file():
        enrolment_id = parse_int(form.enrolment_id.data)
        if enrolment_id is None:
            raise InvalidForm({"enrolment_id": "Choisissez l'inscription concernée."})
        enrolment = get_owned(Enrolment, enrolment_id, column="company_id")
        return complaints.file_by_company(enrolment, form.subject.data, form.description.data, current_user)

    return submit(
        form,
        file,
        page=lambda: render("company/complaints/new.html", form=form),
        done=lambda c: url_for("company.complaint", complaint_id=c.id),
        message="Votre réclamation est transmise à l'organisme de formation ; sa réponse vous sera envoyée "
        "par e-mail.",
    )


@bp.get("/reclamations/<int:complaint_id>")
@require(Perm.VIEW_DASHBOARD)
def complaint(complaint_id: int):
    found = complaints.for_org(g.org, complaint_id)
    if found is None:
        abort(404)
    return render(
        "company/complaints/detail.html", complaint=found, history=complaints.history(found), internal=False
    )
