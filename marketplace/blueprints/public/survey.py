"""Satisfaction questionnaire and complaint through the personal link sent by email (no account, phone page)."""

from __future__ import annotations

from flask import abort, url_for
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from marketplace.blueprints.public.routes import bp
from marketplace.formatting import paris_today
from marketplace.models import Respondent
from marketplace.models.limits import LONG_TEXT
from marketplace.services import complaints, surveys
from marketplace.web.actions import render, submit
from marketplace.web.forms import Form, MaxLength
from marketplace.web.guard import public

SCALE_CHOICES = [SelectChoice(str(n), f"{n} – {label}") for n, label in surveys.SCALE_LABELS.items()]


class ComplaintForm(Form):
    # Checked by the service (required, 200 characters), which reports on these fields.
    subject = StringField("Objet de la réclamation")
    description = TextAreaField("Votre réclamation", validators=[MaxLength(LONG_TEXT)])


def survey_form(invitation):
    """A form with one field per question frozen on the invitation (checked by the service)."""

    class SurveyForm(Form):
        pass

    for question in invitation.questions:
        if question["type"] == surveys.SCALE:
            field = RadioField(question["label"], choices=SCALE_CHOICES, validate_choice=False)
        else:
            field = TextAreaField(question["label"], validators=[MaxLength(LONG_TEXT)])
        setattr(SurveyForm, question["key"], field)
    if invitation.respondent == Respondent.TRAINEE:
        SurveyForm.anonymous = BooleanField("Répondre de façon anonyme")
    return SurveyForm()


def _invitation(token: str):
    invitation = surveys.by_token(token, paris_today())
    if invitation is None:
        abort(404)
    return invitation


def _page(invitation, token, form, complaint_form):
    today = paris_today()
    return render(
        "public/survey/survey.html",
        invitation=invitation,
        session=invitation.session,
        token=token,
        form=form,
        questions=[(q, form[q["key"]]) for q in invitation.questions],
        complaint_form=complaint_form,
        refusal=surveys.refusal(invitation, today),
        expired=invitation.expires_on < today,
    )


@bp.route("/stagiaire/questionnaire/<token>", methods=["GET", "POST"])
@public
def survey(token: str):
    invitation = _invitation(token)
    form = survey_form(invitation)
    answers = {q["key"]: form[q["key"]].data for q in invitation.questions}
    anonymous = "anonymous" in form and bool(form.anonymous.data)
    return submit(
        form,
        lambda: surveys.submit(token, answers, anonymous=anonymous),
        page=lambda: _page(invitation, token, form, ComplaintForm(formdata=None)),
        done=url_for("public.survey", token=token),
        message="Merci ! Votre réponse est enregistrée.",
    )


@bp.route("/stagiaire/questionnaire/<token>/reclamation", methods=["GET", "POST"])
@public
def survey_complaint(token: str):
    invitation = _invitation(token)
    form = ComplaintForm()
    return submit(
        form,
        lambda: complaints.file_by_link(token, form.subject.data, form.description.data),
        page=lambda: _page(invitation, token, survey_form(invitation), form),
        done=url_for("public.survey", token=token),
        message="Votre réclamation est transmise à l'organisme de formation ; sa réponse vous sera envoyée "
        "par e-mail.",
    )
