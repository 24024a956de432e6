"""OPCO: control of service fait — sessions awaiting it, a session's realisation, request a correction."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.routes import bp
from marketplace.blueprints.opco.service_fait_forms import CorrectionForm
from marketplace.models import TrainingSession
from marketplace.services import delivery_pages, service_fait
from marketplace.services.roles import Perm
from marketplace.web.actions import render, submit
from marketplace.web.downloads import send_document
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg


def _funded_session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="opco_id")


@bp.get("/service-fait")
@require(Perm.CONTROL_DELIVERY)
def control_sessions():
    state = delivery_pages.clean_state(request.args.get("statut"))
    return render(
        "opco/service_fait/list.html",
        state=state,
        result=delivery_pages.control_sessions(g.org.id, state, page_arg()),
        awaiting=service_fait.awaiting_count(g.org.id),
    )


@bp.get("/service-fait/sessions/<int:session_id>")
@require(Perm.CONTROL_DELIVERY)
def control_session(session_id: int):
    session = _funded_session(session_id)
    return render("opco/service_fait/session.html", data=delivery_pages.realisation(session))


@bp.route("/service-fait/sessions/<int:session_id>/correction", methods=["GET", "POST"])
@require(Perm.CONTROL_DELIVERY)
def request_correction(session_id: int):
    session = _funded_session(session_id)
    form = CorrectionForm()
    return submit(
        form,
        lambda: service_fait.request_correction(session, form.reason.data, current_user, g.org.id),
        page=lambda: render("opco/service_fait/correction.html", form=form, session=session),
        done=url_for("opco.control_session", session_id=session_id),
        message="La correction est demandée : la session est rouverte et l'organisme de formation est prévenu.",
    )


@bp.get("/documents-de-formation/<int:training_document_id>")
@require(Perm.CONTROL_DELIVERY)
def download_training_document(training_document_id: int):
    document = delivery_pages.readable_document(g.org, training_document_id)
    return send_document(document, delivery_pages.document_bytes(document))
