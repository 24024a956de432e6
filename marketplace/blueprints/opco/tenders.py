"""OPCO calls for tenders: list, builder, detail (calendar, lots, criteria, files, questions), state changes."""

from __future__ import annotations

import io

from flask import abort, current_app, g, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.opco.routes import bp
from marketplace.blueprints.opco.tender_forms import MAX_ROWS, TenderForm, TenderFormErrors, weights_typed
from marketplace.formatting import datetime_fr
from marketplace.models import Tender, TenderDocumentKind, TenderStatus, utcnow
from marketplace.services import storage, tender_pages, tender_questions
from marketplace.services import tenders as service
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.services.tender_states import TENDER
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_arg

# Moves offered on the tender's page (close happens by itself; the award belongs to the evaluation pages).
EVENTS = ("publish", "start_analysis", "declare_unsuccessful")
DONE = {
    "publish": "L'appel d'offres « {title} » est publié : tous les organismes de formation de la plateforme "
    "peuvent le consulter et y répondre jusqu'au {deadline}.",
    "start_analysis": "L'analyse des réponses à « {title} » est commencée.",
    "declare_unsuccessful": "L'appel d'offres « {title} » est déclaré infructueux.",
}
STATUS_BADGES = {
    TenderStatus.DRAFT: "badge-neutral",
    TenderStatus.PUBLISHED: "badge-ok",
    TenderStatus.CLOSED: "badge-warning",
    TenderStatus.UNDER_ANALYSIS: "badge-warning",
    TenderStatus.AWARDED: "badge-ok",
    TenderStatus.UNSUCCESSFUL: "badge-error",
}


def _get_tender(tender_id: int) -> Tender:
    return get_owned(Tender, tender_id, column="opco_id")


def _evaluation_link() -> bool:
    """The evaluation pages exist (they are built in another module)."""
    return "opco.tender_evaluation" in current_app.view_functions


# --- List -------------------------------------------------------------------------------------------


@bp.get("/appels-d-offres")
@require(Perm.VIEW_DASHBOARD)
def tenders():
    status = request.args.get("statut", "")
    if status not in TenderStatus.LABELS:
        status = ""
    now = utcnow()
    data = tender_pages.opco_list(g.org, status, now)
    return render(
        "opco/tenders/list.html",
        tenders=data.tenders,
        chosen=status,
        labels=TenderStatus.LABELS,
        badges=STATUS_BADGES,
        counts=data.counts,
        now=now,
        time_left=service.time_left_label,
    )


# --- Builder ----------------------------------------------------------------------------------------


def _tender_form(rows_for: Tender | None = None) -> TenderForm:
    """The builder with its choices; as many rows as asked (``?lots=``, ``?criteres=``) or as the tender has."""
    lots = int_arg("lots", 0, minimum=0, maximum=MAX_ROWS) or 0
    criteria = int_arg("criteres", 0, minimum=0, maximum=MAX_ROWS) or 0
    if rows_for is not None:
        lots, criteria = max(lots, len(rows_for.lots) + 1), max(criteria, len(rows_for.criteria) + 1)
    return TenderForm.build(tender_pages.builder_choices(g.org), lots=lots, criteria=criteria)


def _form_page(form: TenderForm, tender: Tender | None, errors: TenderFormErrors):
    total, typed = weights_typed(form)
    return render(
        "opco/tenders/form.html",
        form=form,
        tender=tender,
        general=errors.general,
        total=total,
        typed=typed,
        lot_rows=len(form.lots.entries),
        criterion_rows=len(form.criteria.entries),
    )


@bp.route("/appels-d-offres/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_TENDERS)
def tender_new():
    form = _tender_form()
    if request.method == "GET":
        form.required_documents.data = ["technical_proposal", "qualiopi_certificate"]
    errors = TenderFormErrors(form)
    return submit(
        errors,
        lambda: service.create_tender(g.org, form.to_input(), current_user, utcnow()),
        page=lambda: _form_page(form, None, errors),
        done=lambda tender: url_for("opco.tender_detail", tender_id=tender.id),
        message=lambda tender: (
            f"L'appel d'offres « {tender.title} » est enregistré en brouillon ; joignez vos "
            "fichiers puis publiez-le."
        ),
    )


@bp.route("/appels-d-offres/<int:tender_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_TENDERS)
def tender_edit(tender_id: int):
    tender = _get_tender(tender_id)
    if tender.status != TenderStatus.DRAFT:
        # Published: frozen for everyone; a change sent anyway is refused (422), nothing is saved.
        return render(
            "opco/tenders/frozen.html",
            tender=tender_pages.shown(tender, utcnow()),
            status=200 if request.method == "GET" else 422,
        )
    form = _tender_form(tender if request.method == "GET" else None)
    if request.method == "GET":
        form.fill_from(tender)
    errors = TenderFormErrors(form)
    return submit(
        errors,
        lambda: service.update_tender(tender, form.to_input(), current_user, utcnow()),
        page=lambda: _form_page(form, tender, errors),
        done=url_for("opco.tender_detail", tender_id=tender.id),
        message=f"Les modifications de l'appel d'offres « {tender.title} » sont enregistrées.",
    )


@bp.get("/appels-d-offres/ponderations")
@require(Perm.MANAGE_TENDERS)
def tender_weights():
    """The live total of the criteria's weights (htmx fragment, next to the criteria table)."""
    typed = [
        value.strip()
        for key, value in request.args.items()
        if key.startswith("criteria-") and key.endswith("-weight") and value.strip()
    ]
    readable = all(w.isdigit() and w.isascii() and len(w) <= 9 for w in typed)
    total = sum(int(w) for w in typed) if readable else None
    return render("opco/tenders/_weights_total.html", total=total, typed=len(typed))


# --- Detail and state changes -----------------------------------------------------------------------


def _detail_page(tender_id: int):
    tender = _get_tender(tender_id)
    now = utcnow()
    data = tender_pages.opco_detail(tender, now, EVENTS)
    return render(
        "opco/tenders/detail.html",
        tender=data.tender,
        badges=STATUS_BADGES,
        document_labels=TenderDocumentKind.LABELS,
        attachments=data.attachments,
        counts=data.counts,
        questions=data.questions,
        problems=data.problems,
        events=data.events,
        machine=TENDER,
        deadline_passed=data.deadline_passed,
        time_left=service.time_left_label,
        now=now,
        evaluation_link=_evaluation_link(),
        max_mb=storage.max_bytes() // (1024 * 1024),
    )


@bp.get("/appels-d-offres/<int:tender_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_detail(tender_id: int):
    return _detail_page(tender_id)


@bp.post("/appels-d-offres/<int:tender_id>/etat")
@require(Perm.MANAGE_TENDERS)
def tender_transition(tender_id: int):
    tender = _get_tender(tender_id)
    event = request.form.get("event", "")
    reason = request.form.get("reason", "")

    def action():
        if event == "publish":
            service.publish(tender, current_user, utcnow())
        elif event == "start_analysis":
            service.start_analysis(tender, current_user, utcnow())
        elif event == "declare_unsuccessful":
            service.declare_unsuccessful(tender, current_user, reason)
        else:
            raise DomainError("Cette action n'est pas possible.")

    return perform(
        action,
        done=url_for("opco.tender_detail", tender_id=tender.id),
        message=lambda _: DONE[event].format(
            title=tender.title, deadline=datetime_fr(tender.submission_deadline)
        ),
        failed=lambda error: _detail_page(tender_id),
    )


# --- Attachments ------------------------------------------------------------------------------------


def _get_attachment(tender: Tender, attachment_id: int):
    attachment = tender_pages.attachment_of(tender, attachment_id)
    if attachment is None:
        abort(404)
    return attachment


@bp.post("/appels-d-offres/<int:tender_id>/pieces")
@require(Perm.MANAGE_TENDERS)
def tender_attachment_add(tender_id: int):
    tender = _get_tender(tender_id)
    upload = request.files.get("file")
    # Read one byte more than allowed: enough to refuse an oversized file without loading all of it.
    data = upload.read(storage.max_bytes() + 1) if upload else b""
    filename = (upload.filename or "") if upload else ""
    return perform(
        lambda: service.add_attachment(tender, filename, data, current_user),
        done=url_for("opco.tender_detail", tender_id=tender.id, _anchor="pieces"),
        message=lambda attachment: f"Le fichier « {attachment.filename} » est joint à l'appel d'offres.",
        failed=lambda error: _detail_page(tender_id),
    )


@bp.get("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_attachment(tender_id: int, attachment_id: int):
    attachment = _get_attachment(_get_tender(tender_id), attachment_id)
    return send_file(
        io.BytesIO(service.read_attachment(attachment)),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )


@bp.post("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>/supprimer")
@require(Perm.MANAGE_TENDERS)
def tender_attachment_remove(tender_id: int, attachment_id: int):
    tender = _get_tender(tender_id)
    attachment = _get_attachment(tender, attachment_id)
    name = attachment.filename
    return perform(
        # The file itself is deleted once the removal is committed (services.storage).
        lambda: service.remove_attachment(attachment, current_user),
        done=url_for("opco.tender_detail", tender_id=tender.id, _anchor="pieces"),
        message=f"Le fichier « {name} » est retiré.",
        failed=lambda error: _detail_page(tender_id),
    )


# --- Questions --------------------------------------------------------------------------------------


@bp.post("/appels-d-offres/<int:tender_id>/questions/<int:question_id>")
@require(Perm.MANAGE_TENDERS)
def tender_answer(tender_id: int, question_id: int):
    tender = _get_tender(tender_id)
    question = tender_pages.question_of(tender, question_id)
    if question is None:
        abort(404)
    publish = request.form.get("publish") in ("y", "on", "1", "true")
    answer = request.form.get("answer", "")
    return perform(
        lambda: tender_questions.answer_question(question, current_user, answer, publish, utcnow()),
        done=url_for("opco.tender_detail", tender_id=tender.id, _anchor=f"question-{question.id}"),
        message="La réponse est publiée : tous les organismes la lisent, sans le nom de l'auteur de la question."
        if publish
        else "La réponse est enregistrée : seul l'organisme qui a posé la question la voit.",
        failed=lambda error: _detail_page(tender_id),
    )
