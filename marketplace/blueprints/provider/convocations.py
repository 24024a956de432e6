"""Training organisation: convocations of a session (preview, send early, downloads), the link of a distance
session, and the organisation's information for trainees (L6353-8)."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.provider.convocation_forms import ConnectionForm, TraineeInformationForm
from marketplace.blueprints.provider.routes import bp
from marketplace.models import Document, TrainingSession, utcnow
from marketplace.services import convocations, trainee_information
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.downloads import pdf_response
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_arg


def _owned_session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="provider_id")


def _section_url(session_id: int) -> str:
    return url_for("provider.session_detail", session_id=session_id) + "#convocations"


@bp.get("/sessions/<int:session_id>/convocations/apercu")
@require(Perm.MANAGE_SESSIONS)
def convocation_preview(session_id: int):
    session = _owned_session(session_id)
    data = convocations.preview(session, int_arg("inscription"), utcnow())
    return pdf_response(f"apercu-convocation-{session.id}.pdf", data, inline=True)


@bp.post("/sessions/<int:session_id>/convocations/envoyer")
@require(Perm.MANAGE_SESSIONS)
def send_convocations(session_id: int):
    session = _owned_session(session_id)
    return perform(
        lambda: convocations.send_early(session, current_user),
        done=_section_url(session_id),
        message=lambda count: (
            f"Envoi des convocations lancé pour {count} stagiaire{'s' if count > 1 else ''} : "
            "chacun et son employeur la reçoivent par e-mail."
        ),
    )


@bp.post("/sessions/<int:session_id>/lien-connexion")
@require(Perm.MANAGE_SESSIONS)
def session_connection_url(session_id: int):
    session = _owned_session(session_id)
    form = ConnectionForm()
    return perform(
        lambda: trainee_information.set_connection_url(session, form.connection_url.data, current_user),
        done=_section_url(session_id),
        message="Le lien de connexion est enregistré.",
    )


@bp.get("/convocations/<int:convocation_id>")
@require(Perm.VIEW_DASHBOARD)
def convocation_download(convocation_id: int):
    document = get_owned(Document, convocation_id, column="provider_id")
    file = convocations.file_of(document)
    if file is None:
        abort(404)
    return pdf_response(*file)


@bp.route("/informations-stagiaires", methods=["GET", "POST"])
@require(Perm.MANAGE_SESSIONS)
def trainee_information_page():
    form = TraineeInformationForm(obj=g.org) if request.method == "GET" else TraineeInformationForm()
    return submit(
        form,
        lambda: trainee_information.update_provider(g.org, form.to_input(), current_user),
        page=lambda: render("provider/convocations/information.html", form=form),
        done=url_for("provider.trainee_information_page"),
        message="Les informations destinées aux stagiaires sont enregistrées.",
    )
