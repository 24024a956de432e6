"""OPCO: « Qualité » — satisfaction results of its catalogue (per action, session, OF compared), complaints, and
the questions it adds to the questionnaires."""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice

from marketplace.blueprints import quality
from marketplace.blueprints.opco.routes import bp
from marketplace.models import SurveyQuestion
from marketplace.services import survey_questions, surveys
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, see_other, submit
from marketplace.web.forms import Form
from marketplace.web.guard import get_owned, require

quality.register(bp, "opco", Perm.VIEW_REPORTS, Perm.MANAGE_CATALOGUE)


class QuestionForm(Form):
    # Checked by the service (required, 300 characters), which reports on these fields.
    label = StringField("Intitulé de la question")
    answer_type = RadioField(
        "Type de réponse",
        choices=[SelectChoice(k, v) for k, v in survey_questions.TYPES.items()],
        default="scale",
        validate_choice=False,
    )
    moment = RadioField(
        "Posée",
        choices=[SelectChoice(k, v) for k, v in survey_questions.MOMENTS.items()],
        default="both",
        validate_choice=False,
    )


@bp.route("/qualite/questions", methods=["GET", "POST"])
@require(Perm.MANAGE_CATALOGUE)
def survey_questions_page():
    form = QuestionForm()
    return submit(
        form,
        lambda: survey_questions.add(
            g.org.id, form.label.data, form.answer_type.data, form.moment.data, current_user
        ),
        page=lambda: render(
            "quality/questions.html",
            form=form,
            questions=survey_questions.of_opco(g.org.id),
            standard=surveys.STANDARD,
            moments=survey_questions.MOMENTS,
            types=survey_questions.TYPES,
        ),
        done=url_for("opco.survey_questions_page"),
        message="La question est ajoutée : elle sera posée dans les prochains questionnaires envoyés.",
    )


@bp.post("/qualite/questions/<int:survey_question_id>")
@require(Perm.MANAGE_CATALOGUE)
def survey_question_change(survey_question_id: int):
    question = get_owned(SurveyQuestion, survey_question_id, column="opco_id")
    what = request.form.get("what", "")
    if what not in ("monter", "descendre", "activer", "desactiver"):
        flash("Action inconnue sur la question.", "error")
        return see_other(url_for("opco.survey_questions_page"))
    if what in ("monter", "descendre"):
        action = lambda: survey_questions.move(question, "up" if what == "monter" else "down", current_user)  # noqa: E731
        message = None
    else:
        action = lambda: survey_questions.set_active(question, what == "activer", current_user)  # noqa: E731
        message = "La question est réactivée." if what == "activer" else "La question est désactivée."
    return perform(action, done=url_for("opco.survey_questions_page"), message=message)
