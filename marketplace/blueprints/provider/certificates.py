"""Training organisation: the documents of a delivered session (certificates, attestations) and their progress."""

from __future__ import annotations

from flask import g, url_for

from marketplace.blueprints.provider.routes import bp
from marketplace.models import TrainingSession
from marketplace.services import certificates, delivery_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.downloads import send_document
from marketplace.web.guard import get_owned, require


def _owned_session(session_id: int) -> TrainingSession:
    return get_owned(TrainingSession, session_id, column="provider_id")


@bp.get("/sessions/<int:session_id>/documents-de-formation")
@require(Perm.VIEW_DASHBOARD)
def session_documents(session_id: int):
    session = _owned_session(session_id)
    return render(
        "provider/certificates/documents.html",
        session=session,
        data=delivery_pages.session_documents(session),
    )


@bp.get("/sessions/<int:session_id>/documents-de-formation/progression")
@require(Perm.VIEW_DASHBOARD)
def certificates_progress(session_id: int):
    """The small fragment polled every 2 s while the documents are being generated."""
    session = _owned_session(session_id)
    return render(
        "provider/certificates/_progress.html", session=session, progress=certificates.progress(session)
    )


@bp.post("/sessions/<int:session_id>/documents-de-formation/generer")
@require(Perm.MANAGE_SESSIONS)
def generate_certificates(session_id: int):
    session = _owned_session(session_id)
    return perform(
        lambda: certificates.request_generation(session),
        done=url_for("provider.session_documents", session_id=session_id),
        message="La génération des documents manquants est lancée.",
    )


@bp.get("/documents-de-formation/<int:training_document_id>")
@require(Perm.VIEW_DASHBOARD)
def download_training_document(training_document_id: int):
    document = delivery_pages.readable_document(g.org, training_document_id)
    return send_document(document, delivery_pages.document_bytes(document))
