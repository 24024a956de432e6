"""Trainee: their own certificate and attestation through the personal link sent by email (no account)."""

from __future__ import annotations

from flask import abort

from marketplace.blueprints.public.routes import bp
from marketplace.formatting import paris_today
from marketplace.services import certificates, delivery_pages
from marketplace.web.actions import render
from marketplace.web.downloads import send_document
from marketplace.web.guard import public


@bp.get("/stagiaire/documents/<token>")
@public
def trainee_documents(token: str):
    link = certificates.link_for_token(token, paris_today())
    if link is None:
        abort(404)
    return render(
        "public/trainee/documents.html",
        link=link,
        token=token,
        enrolment=link.enrolment,
        documents=certificates.trainee_documents(link),
    )


@bp.get("/stagiaire/documents/<token>/<int:document_id>")
@public
def trainee_document(token: str, document_id: int):
    document = certificates.trainee_download(token, document_id, paris_today())
    return send_document(document, delivery_pages.document_bytes(document))
