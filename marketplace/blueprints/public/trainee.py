"""Trainee: their own certificate and attestation through the personal link sent by email (no account)."""

from __future__ import annotations

from flask import abort, url_for

from marketplace.blueprints.public.routes import bp
from marketplace.blueprints.public.survey import ComplaintForm
from marketplace.formatting import paris_today
from marketplace.services import certificates, complaints, delivery_pages
from marketplace.web.actions import render, submit
from marketplace.web.downloads import send_document
from marketplace.web.guard import public


def _link(token: str):
    link = certificates.link_for_token(token, paris_today())
    if link is None:
        abort(404)
    return link


def _page(link, token: str, complaint_form):
    return render(
        "public/trainee/documents.html",
        link=link,
        token=token,
        enrolment=link.enrolment,
        documents=certificates.trainee_documents(link),
        complaint_form=complaint_form,
    )


@bp.get("/stagiaire/documents/<token>")
@public
def trainee_documents(token: str):
    return _page(_link(token), token, ComplaintForm(formdata=None))


@bp.route("/stagiaire/documents/<token>/reclamation", methods=["GET", "POST"])
@public
def trainee_complaint(token: str):
    link = _link(token)
    form = ComplaintForm()
    return submit(
        form,
        lambda: complaints.file_by_trainee_link(token, form.subject.data, form.description.data),
        page=lambda: _page(link, token, form),
        done=url_for("public.trainee_documents", token=token),
        message="Votre réclamation est transmise à l'organisme de formation ; sa réponse vous sera envoyée "
        "par e-mail.",
    )


@bp.get("/stagiaire/documents/<token>/<int:document_id>")
@public
def trainee_document(token: str, document_id: int):
    document = certificates.trainee_download(token, document_id, paris_today())
    return send_document(document, delivery_pages.document_bytes(document))
