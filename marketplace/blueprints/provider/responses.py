"""Training organisation: its response to one lot of a call for tenders, its documents, « Mes réponses ».

Tenders and lots are shared with every training organisation (published ones only); the response and its
documents belong to the organisation of the URL and are only ever looked up through it.
"""

from __future__ import annotations

import io

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.provider.response_forms import ACCEPTED_FILES, DocumentForm, ResponseForm
from marketplace.blueprints.provider.routes import bp
from marketplace.extensions import db
from marketplace.models import ResponseStatus, TenderDocumentKind, TenderStatus, utcnow
from marketplace.services import storage
from marketplace.services import tender_responses as service
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.forms import attach_error
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
    found = service.visible_lot(tender_id, lot_id)
    if found is None:
        abort(404)
    return found


def _page_url(tender, lot, anchor: str | None = None, **args) -> str:
    return url_for("provider.tender_response", tender_id=tender.id, lot_id=lot.id, _anchor=anchor, **args)


def _current(tender, lot, now):
    """(response or None, notice): the organisation's response, or a new draft, or why it cannot start one."""
    try:
        return service.get_or_start(tender, lot, g.org, current_user, now), None
    except DomainError as error:
        return None, error.message


def _render(tender, lot, response, *, now, form=None, document_form=None, notice=None, status=200):
    editable = response is not None and service.is_editable(response, now)
    if form is None and response is not None:
        form = ResponseForm(formdata=None)
        form.fill_from(response)
    if document_form is None:
        document_form = DocumentForm(formdata=None)
    document_form.set_kinds(tender.required_documents or [])
    documents = response.documents if response is not None else []
    attached = {d.kind for d in documents}
    shown_status, shown_label = service.shown_status(response) if response is not None else (None, None)
    checklist = [
        (kind, TenderDocumentKind.LABELS.get(kind, kind), kind in attached) for kind in tender.required_documents or []
    ]
    return render_template(
        "provider/responses/response.html",
        tender=tender,
        lot=lot,
        response=response,
        is_new=response is None or service.is_new(response),
        shown_status=shown_status,
        shown_label=shown_label,
        editable=editable,
        can_withdraw=response is not None and service.can_withdraw(response, now),
        confirming=editable and request.args.get("confirmer") == "1",
        missing=(service.missing_fields(response) + service.missing_documents(response)) if response else [],
        form=form,
        document_form=document_form,
        documents=documents,
        checklist=checklist,
        kind_labels=TenderDocumentKind.LABELS,
        result=service.result_of(response) if response is not None and not service.is_new(response) else None,
        submitted=service.submitted_label(response.submitted_at) if response is not None else "",
        deadline_passed=service.deadline_passed(tender, now),
        notice=notice,
        badges=RESPONSE_BADGES,
        accepted=ACCEPTED_FILES,
        max_mb=storage.max_bytes() // (1024 * 1024),
        awarded=tender.status == TenderStatus.AWARDED,
    ), status


# --- The response page ----------------------------------------------------------------------------------


@bp.get(BASE)
@require(Perm.VIEW_DASHBOARD)
def tender_response(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    now = utcnow()
    response, notice = _current(tender, lot, now)
    return _render(tender, lot, response, now=now, notice=notice)


@bp.post(BASE)
@require(Perm.RESPOND_TENDERS)
def save_tender_response(tender_id: int, lot_id: int):
    """« Enregistrer le brouillon », or « Vérifier et déposer… » (save, then ask for confirmation)."""
    tender, lot = _lot(tender_id, lot_id)
    now = utcnow()
    form = ResponseForm()
    wants_submit = request.form.get("action") == "submit"
    if not form.validate():
        response, notice = _current(tender, lot, now)
        return _render(tender, lot, response, now=now, form=form, notice=notice, status=422)
    try:
        response = service.get_or_start(tender, lot, g.org, current_user, now)
        service.save_draft(response, form.to_input(), current_user, now)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        response, notice = _current(tender, lot, now)
        return _render(tender, lot, response, now=now, form=form, notice=notice, status=422)
    db.session.commit()
    if not wants_submit:
        flash("Brouillon enregistré. Votre réponse n'est pas encore déposée.", "success")
        return redirect(_page_url(tender, lot), 303)
    try:
        service.check_complete(response)
    except DomainError as error:
        flash("Brouillon enregistré, mais la réponse ne peut pas encore être déposée. " + error.message, "error")
        return _render(tender, lot, response, now=now, status=422)
    return redirect(_page_url(tender, lot, anchor="confirmer", confirmer=1), 303)


@bp.post(BASE + "/deposer")
@require(Perm.RESPOND_TENDERS)
def submit_tender_response(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    response = service.find_response(lot, g.org)
    if response is None:
        abort(404)
    now = utcnow()
    try:
        service.submit(response, current_user, now)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_page_url(tender, lot), 303)
    db.session.commit()
    flash(
        f"Votre réponse est déposée le {service.submitted_label(now)}. Un accusé de dépôt vous est envoyé par "
        "courriel.",
        "success",
    )
    return redirect(_page_url(tender, lot), 303)


@bp.post(BASE + "/retirer")
@require(Perm.RESPOND_TENDERS)
def withdraw_tender_response(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    response = service.find_response(lot, g.org)
    if response is None:
        abort(404)
    try:
        service.withdraw(response, current_user, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_page_url(tender, lot), 303)
    db.session.commit()
    flash(
        "Votre réponse est retirée : l'OPCO ne la recevra pas. Vous pouvez la modifier et la déposer à nouveau "
        "avant la date limite.",
        "success",
    )
    return redirect(_page_url(tender, lot), 303)


# --- Documents ----------------------------------------------------------------------------------------------


@bp.post(BASE + "/documents")
@require(Perm.RESPOND_TENDERS)
def upload_response_document(tender_id: int, lot_id: int):
    tender, lot = _lot(tender_id, lot_id)
    now = utcnow()
    document_form = DocumentForm()
    document_form.set_kinds(tender.required_documents or [])
    if document_form.validate():
        upload = document_form.file.data
        try:
            response = service.get_or_start(tender, lot, g.org, current_user, now)
            # Read one byte more than allowed: enough to refuse an oversized file without loading all of it.
            data = upload.read(storage.max_bytes() + 1)
            document = service.add_document(
                response, document_form.kind.data, upload.filename or "", data, current_user, now
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(document_form, error)
        else:
            db.session.commit()
            flash(
                f"« {document.filename} » est joint à votre réponse "
                f"({TenderDocumentKind.LABELS[document.kind]}).",
                "success",
            )
            return redirect(_page_url(tender, lot, anchor="documents"), 303)
    response, notice = _current(tender, lot, now)
    return _render(tender, lot, response, now=now, document_form=document_form, notice=notice, status=422)


@bp.post("/reponses/documents/<int:document_id>/supprimer")
@require(Perm.RESPOND_TENDERS)
def remove_response_document(document_id: int):
    document = service.readable_document(document_id, provider=g.org, now=utcnow())
    if document is None:
        abort(404)
    response = document.response
    tender_id, lot_id, filename = response.tender_id, response.lot_id, document.filename
    try:
        service.remove_document(document, current_user, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"« {filename} » est retiré de votre réponse.", "success")
    return redirect(url_for("provider.tender_response", tender_id=tender_id, lot_id=lot_id, _anchor="documents"), 303)


@bp.get("/reponses/documents/<int:document_id>")
@require(Perm.VIEW_DASHBOARD)
def response_document(document_id: int):
    document = service.readable_document(document_id, provider=g.org, now=utcnow())
    if document is None:
        abort(404)
    return send_file(
        io.BytesIO(service.read_document(document)),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )


# --- Mes réponses -------------------------------------------------------------------------------------------


@bp.get("/reponses")
@require(Perm.VIEW_DASHBOARD)
def my_responses():
    return render_template(
        "provider/responses/list.html", summaries=service.provider_responses(g.org), badges=RESPONSE_BADGES,
        now=utcnow(), deadline_passed=service.deadline_passed,
    )
