"""« Qualité » pages shared by the OPCO and the training organisation: survey results and complaints.

``register(bp, ...)`` adds the same routes to each blueprint; every object comes from the URL and is read
scoped to the current organisation (``survey_results.action_for``, ``get_owned``, ``complaints.for_org``).
"""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user
from wtforms import HiddenField, TextAreaField

from marketplace.models import TrainingSession
from marketplace.models.limits import LONG_TEXT
from marketplace.services import complaints, survey_results
from marketplace.services.survey_export import SurveyAnswersExport
from marketplace.web.actions import download, render, submit
from marketplace.web.forms import Form, MaxLength
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg

STEP_LABELS = {
    "analyse": ("Analyse de la réclamation", "Passer en analyse"),
    "answer": ("Réponse envoyée à l'auteur", "Répondre et prévenir l'auteur"),
    "close": ("Action d'amélioration (facultatif)", "Clôturer la réclamation"),
}


class StepForm(Form):
    # Read by the service (« analyse », « answer » or « close »), which refuses anything else.
    event = HiddenField()
    text = TextAreaField("Texte", validators=[MaxLength(LONG_TEXT)])


def step_forms(complaint, org, posted: StepForm | None = None) -> list[tuple[str, str, StepForm]]:
    forms = []
    for event in complaints.allowed_events(complaint, org):
        form = posted if posted is not None and posted.event.data == event else StepForm(formdata=None)
        form.event.data = event
        label, button = STEP_LABELS[event]
        form.text.label.text = label
        forms.append((event, button, form))
    return forms


def register(bp, area: str, view_permission: str, treat_permission: str) -> None:
    def _session(session_id: int) -> TrainingSession:
        return get_owned(TrainingSession, session_id, column="opco_id" if area == "opco" else "provider_id")

    @bp.get("/qualite")
    @require(view_permission)
    def quality():
        scope = survey_results.scope_of(g.org)
        return render(
            "quality/overview.html",
            area=area,
            summaries=survey_results.all_summaries(scope),
            actions=survey_results.by_action(scope),
            providers=survey_results.by_provider(scope) if area == "opco" else [],
            min_anonymous=survey_results.MIN_ANONYMOUS,
        )

    @bp.get("/qualite/actions/<int:action_id>")
    @require(view_permission)
    def quality_action(action_id: int):
        action = survey_results.action_for(g.org, action_id)
        if action is None:
            abort(404)
        scope = survey_results.scope_of(g.org, action_id=action.id)
        return render(
            "quality/action.html",
            area=area,
            action=action,
            summaries=survey_results.all_summaries(scope),
            providers=survey_results.by_provider(scope) if area == "opco" else [],
            sessions=survey_results.by_session(scope),
            min_anonymous=survey_results.MIN_ANONYMOUS,
        )

    @bp.get("/qualite/sessions/<int:session_id>")
    @require(view_permission)
    def quality_session(session_id: int):
        session = _session(session_id)
        scope = survey_results.scope_of(g.org, session_id=session.id)
        return render(
            "quality/session.html",
            area=area,
            session=session,
            summaries=survey_results.all_summaries(scope),
            min_anonymous=survey_results.MIN_ANONYMOUS,
        )

    @bp.get("/qualite/export")
    @require(view_permission)
    def quality_export():
        extension = "xlsx" if request.args.get("format") == "xlsx" else "csv"
        scope = survey_results.scope_of(g.org)
        return download(SurveyAnswersExport(scope, f"reponses-questionnaires-{g.org.slug}"), extension)

    @bp.get("/qualite/reclamations")
    @require(view_permission)
    def complaints_list():
        state = complaints.clean_state(request.args.get("statut"))
        return render(
            "quality/complaints.html",
            area=area,
            state=state,
            states=complaints.C.LABELS,
            result=complaints.page_for(g.org, state, page_arg()),
        )

    @bp.get("/qualite/reclamations/<int:complaint_id>")
    @require(view_permission)
    def complaint(complaint_id: int):
        found = complaints.for_org(g.org, complaint_id)
        if found is None:
            abort(404)
        return _complaint_page(found, None)

    def _complaint_page(found, posted):
        return render(
            "quality/complaint.html",
            area=area,
            complaint=found,
            history=complaints.history(found),
            steps=step_forms(found, g.org, posted),
        )

    @bp.post("/qualite/reclamations/<int:complaint_id>/etape")
    @require(treat_permission)
    def complaint_step(complaint_id: int):
        found = complaints.for_org(g.org, complaint_id)
        if found is None:
            abort(404)
        form = StepForm()
        return submit(
            form,
            lambda: complaints.transition(found, form.event.data, form.text.data, current_user, g.org),
            page=lambda: _complaint_page(found, form),
            done=url_for(f"{area}.complaint", complaint_id=complaint_id),
            message=lambda c: f"Réclamation : « {c.status_label} ».",
        )
