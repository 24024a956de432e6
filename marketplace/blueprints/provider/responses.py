"""Training organisation: its response to one lot of a call for tenders, its documents, « Mes réponses ».

Tenders and lots are shared with every training organisation (published ones only); the response and its
documents belong to the organisation of the URL and are only ever looked up through it.
"""

from __future__ import annotations

import io

from flask import abort, flash, g, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.provider.response_forms import ACCEPTED_FILES, DocumentForm, ResponseForm
from marketplace.blueprints.provider.routes import bp
from marketplace.models import ResponseStatus, TenderDocumentKind, utcnow
from marketplace.services import storage, tender_pages
from marketplace.services import tender_response_reads as reads
from marketplace.services import tender_responses as service
from marketplace.services.roles import Perm
from marketplace.web.actions import UNPROCESSABLE, perform, render, see_other, submit, with_status
from marketplace.web.guard import require

RESPONSE_BADGES = {
    ResponseStatus.DRAFT: "badge-neutral",
    ResponseStatus.SUBMITTED: "badge-ok",
    ResponseStatus.WITHDRAWN: "badge-warning",
    ResponseStatus.ADMISSIBLE: "badge-ok",
    ResponseStatus.INADMISSIBLE: "badge-error",
    ResponseStatus.RETAINED: "badge-ok",
    ResponseStatus.NOT_RETAINED: "badge-neutral",
}
BASE = "/appels-d-offres/<int:tender_id>/lots/<int:lot_id>/reponse"


def _lot(tender_id: int, lot_id: int):
    found = reads.visible_lot(tender_id, lot_id)
    if found is None:
        abort(404)
    return found


def _page_url(tender, lot, anchor: str | None = None, **args) -> str:
    return url_for("provider.tender_response", tender_id=tender.id, lot_id=lot.id, _anchor=anchor, **args)


def _page(tender, lot, *, form=None, document_form=None):
    """The response page; ``form`` / ``document_form`` keep what was typed and its errors after a refusal."""
    data = tender_pages.response_page(tender, lot, g.org, current_user, utcnow())
    if form is None and data.response is not None:
        form = ResponseForm(formdata=None)
        form.fill_from(data.response)
    if document_form is None:
        document_form = DocumentForm(formdata=None)
    document_form.set_kinds(data.required)
    return render(
        "provider/responses/response.html",
        tender=data.tender,
        lot=lot,
        response=data.response,
        is_new=data.is_new,
        shown_status=data.shown_status,
        shown_label=data.shown_label,
        editable=data.editable,
        can_withdraw=data.can_withdraw,
        confirming=data.editable and request.args.get("confirmer") == "1",
        missing=data.missing,
        form=form,
        document_form=document_form,
        documents=data.documents,
        checklist=data.checklist,
        kind_labels=TenderDocumentKind.LABELS,
        result=data.result,
        submitted=data.submitted,
        deadline_passed=data.deadline_passed,
        notice=data.notice,
        badges=RESPONSE_BADGES,
        accepted=ACCEPTED_FILES,
        max_mb=storage.max_bytes() // (1024 * 1024),
        awarded=data.awarded,
    )


# --- The response page ----------------------------------------------------------------------------------


@bp.get(BASE)
@require(Perm.VIEW_DASHBOARD)
def tender_response(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    return _page(tender, lot)


@bp.post(BASE)
@require(Perm.RESPOND_TENDERS)
def save_tender_response(tender_id: int, lot_id: int):
    """« Enregistrer le brouillon », or « Vérifier et déposer… » (save, then ask for confirmation)."""
    tender, lot = _lot(tender_id, lot_id)
    form = ResponseForm()
    wants_submit = request.form.get("action") == "submit"

    def saved(response):
        if not wants_submit:
            flash("Brouillon enregistré. Votre réponse n'est pas encore déposée.", "success")
            return see_other(_page_url(tender, lot))
        problem = service.submission_problem(response)
        if problem:
            flash(
                "Brouillon enregistré, mais la réponse ne peut pas encore être déposée. " + problem, "error"
            )
            return with_status(_page(tender, lot), UNPROCESSABLE)
        return see_other(_page_url(tender, lot, anchor="confirmer", confirmer=1))

    return submit(
        form,
        lambda: service.save(tender, lot, g.org, form.to_input(), current_user, utcnow()),
        page=lambda: _page(tender, lot, form=form),
        done=saved,
    )


def _own_response(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    response = tender_pages.own_response(lot, g.org)
    if response is None:
        abort(404)
    return tender, lot, response


@bp.post(BASE + "/deposer")
@require(Perm.RESPOND_TENDERS)
def submit_tender_response(tender_id: int, lot_id: int):
    tender, lot, response = _own_response(tender_id, lot_id)
    now = utcnow()
    return perform(
        lambda: service.submit(response, current_user, now),
        done=_page_url(tender, lot),
        message=f"Votre réponse est déposée le {service.submitted_label(now)}. Un accusé de dépôt vous est envoyé "
        "par courriel.",
        failed=lambda error: _page(tender, lot),
    )


@bp.post(BASE + "/retirer")
@require(Perm.RESPOND_TENDERS)
def withdraw_tender_response(tender_id: int, lot_id: int):
    tender, lot, response = _own_response(tender_id, lot_id)
    return perform(
        lambda: service.withdraw(response, current_user, utcnow()),
        done=_page_url(tender, lot),
        message="Votre réponse est retirée : l'OPCO ne la recevra pas. Vous pouvez la modifier et la déposer à "
        "nouveau avant la date limite.",
        failed=lambda error: _page(tender, lot),
    )


# --- Documents ----------------------------------------------------------------------------------------------


@bp.post(BASE + "/documents")
@require(Perm.RESPOND_TENDERS)
def upload_response_document(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    document_form = DocumentForm()
    document_form.set_kinds(tender.required_documents or [])

    def action():
        upload = document_form.file.data
        # Read one byte more than allowed: enough to refuse an oversized file without loading all of it.
        data = upload.read(storage.max_bytes() + 1)
        return service.upload(
            tender, lot, g.org, document_form.kind.data, upload.filename or "", data, current_user, utcnow()
        )

    return submit(
        document_form,
        action,
        page=lambda: _page(tender, lot, document_form=document_form),
        done=_page_url(tender, lot, anchor="documents"),
        message=lambda document: (
            f"« {document.filename} » est joint à votre réponse ({TenderDocumentKind.LABELS[document.kind]})."
        ),
    )


def _own_document(document_id: int):
    document = reads.readable_document(document_id, provider=g.org, now=utcnow())
    if document is None:
        abort(404)
    return document


@bp.post("/reponses/documents/<int:document_id>/supprimer")
@require(Perm.RESPOND_TENDERS)
def remove_response_document(document_id: int):
    document = _own_document(document_id)
    response = document.response
    tender_id, lot_id, filename = response.tender_id, response.lot_id, document.filename
    return perform(
        lambda: service.remove_document(document, current_user, utcnow()),
        done=url_for("provider.tender_response", tender_id=tender_id, lot_id=lot_id, _anchor="documents"),
        message=f"« {filename} » est retiré de votre réponse.",
        failed=lambda error: _page(*_lot(tender_id, lot_id)),
    )


@bp.get("/reponses/documents/<int:document_id>")
@require(Perm.VIEW_DASHBOARD)
def response_document(document_id: int):
    document = _own_document(document_id)
    return send_file(
        io.BytesIO(reads.read_document(document)),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )


# --- Mes réponses -------------------------------------------------------------------------------------------


@bp.get("/reponses")
@require(Perm.VIEW_DASHBOARD)
def my_responses():
    return render(
        "provider/responses/list.html",
        summaries=tender_pages.my_responses(g.org, utcnow()),
        badges=RESPONSE_BADGES,
        now=utcnow(),
    )
