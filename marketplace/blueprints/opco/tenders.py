"""OPCO calls for tenders: list, builder, detail (calendar, lots, criteria, files, questions), state changes."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from marketplace.blueprints.opco.routes import bp
from marketplace.blueprints.opco.tender_forms import CRITERION_ROWS, LOT_ROWS, MAX_ROWS, TenderForm
from marketplace.extensions import db
from marketplace.formatting import datetime_fr
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Region,
    Tender,
    TenderAttachment,
    TenderDocumentKind,
    TenderQuestion,
    TenderStatus,
    Theme,
    utcnow,
)
from marketplace.services import storage
from marketplace.services import tenders as service
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.services.tender_states import TENDER
from marketplace.web.guard import get_owned, require

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


def _now():
    return utcnow()


def _get_tender(tender_id: int) -> Tender:
    return get_owned(Tender, tender_id, column="opco_id")


def _get_attachment(tender: Tender, attachment_id: int) -> TenderAttachment:
    attachment = db.session.get(TenderAttachment, attachment_id)
    if attachment is None or attachment.tender_id != tender.id:
        abort(404)
    return attachment


def _evaluation_link() -> bool:
    """The evaluation pages exist (they are built in another module)."""
    return "opco.tender_evaluation" in current_app.view_functions


def _euros_input(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


def _commit_refresh(tender: Tender) -> None:
    """Reading a tender closes it when its deadline has come; keep that change."""
    if service.refresh_status(tender, _now()):
        db.session.commit()


# --- List -------------------------------------------------------------------------------------------


@bp.get("/appels-d-offres")
@require(Perm.VIEW_DASHBOARD)
def tenders():
    status = request.args.get("statut", "")
    if status not in TenderStatus.LABELS:
        status = ""
    if service.close_due_tenders(_now()):
        db.session.commit()  # the list then shows them closed
    rows = service.opco_tenders(g.org.id, status)
    return render_template(
        "opco/tenders/list.html",
        tenders=rows,
        status=status,
        labels=TenderStatus.LABELS,
        badges=STATUS_BADGES,
        counts=service.status_counts(g.org.id),
        now=_now(),
        time_left=service.time_left_label,
    )


# --- Builder ----------------------------------------------------------------------------------------


def _tender_form() -> TenderForm:
    form = TenderForm()
    themes = [SelectChoice("", "— Choisissez —")] + [
        SelectChoice(t.code, f"{t.code} – {t.label}") for t in db.session.scalars(select(Theme).order_by(Theme.code))
    ]
    regions = [SelectChoice("", "National")] + [
        SelectChoice(r.code, r.name) for r in db.session.scalars(select(Region).order_by(Region.name))
    ]
    actions = [SelectChoice("", "— Aucune : brouillon créé à l'attribution —")] + [
        SelectChoice(str(a.id), f"{a.reference} – {a.title}")
        for a in db.session.scalars(
            select(CollectiveAction)
            .where(CollectiveAction.opco_id == g.org.id, CollectiveAction.status != ActionStatus.ARCHIVED)
            .order_by(CollectiveAction.reference)
        )
    ]
    wanted_lots = min(max(request.args.get("lots", 0, type=int), LOT_ROWS), MAX_ROWS)
    wanted_criteria = min(max(request.args.get("criteres", 0, type=int), CRITERION_ROWS), MAX_ROWS)
    while len(form.lots.entries) < wanted_lots:
        form.lots.append_entry()
    while len(form.criteria.entries) < wanted_criteria:
        form.criteria.append_entry()
    for entry in form.lots.entries:
        entry.form.theme_code.choices = themes
        entry.form.region_code.choices = regions
        entry.form.action_id.choices = actions
    return form


def _filled(entries) -> list:
    return [entry.form for entry in entries if not entry.form.is_empty()]


def _tender_input(form: TenderForm) -> service.TenderInput:
    return service.TenderInput(
        title=form.title.data or "",
        reference=form.reference.data or "",
        context=form.context.data or "",
        specification=form.specification.data or "",
        questions_deadline=form.questions_deadline.data,
        submission_deadline=form.submission_deadline.data,
        expected_award_date=form.expected_award_date.data,
        multi_award=bool(form.multi_award.data),
        required_documents=form.required_documents.data or [],
        lots=[
            service.LotInput(
                title=row.title.data or "",
                theme_code=row.theme_code.data or "",
                region_code=row.region_code.data or None,
                expected_sessions=row.expected_sessions.data,
                expected_trainees=row.expected_trainees.data,
                max_price=row.max_price.data,
                duration_hours=row.duration_hours.data,
                action_id=row.action_id.data or None,
            )
            for row in _filled(form.lots.entries)
        ],
        criteria=[
            service.CriterionInput(label=row.label.data or "", weight=row.weight.data)
            for row in _filled(form.criteria.entries)
        ],
    )


def _attach_errors(form: TenderForm, error: DomainError) -> dict[str, str]:
    """Put the service's messages next to their fields; returns the table-wide ones (lots, criteria, other)."""
    general: dict[str, str] = {}
    rows = {"lots": _filled(form.lots.entries), "criteria": _filled(form.criteria.entries)}
    for name, message in getattr(error, "errors", {error.field or "form": error.message}).items():
        parts = name.split("-")
        if len(parts) == 3 and parts[0] in rows and parts[1].isdigit():
            row = rows[parts[0]][int(parts[1])]
            row[parts[2]].errors = [*row[parts[2]].errors, message]
        elif name in form and name not in ("lots", "criteria"):
            form[name].errors = [*form[name].errors, message]
        else:
            general[name] = message
    return general


def _fill(form: TenderForm, tender: Tender) -> None:
    for name in ("title", "reference", "context", "specification", "expected_award_date", "multi_award"):
        form[name].data = getattr(tender, name)
    form.questions_deadline.data = service.utc_to_paris(tender.questions_deadline)
    form.submission_deadline.data = service.utc_to_paris(tender.submission_deadline)
    form.required_documents.data = list(tender.required_documents or [])
    for entry, lot in zip(form.lots.entries, tender.lots, strict=False):
        row = entry.form
        row.title.data = lot.title
        row.theme_code.data = lot.theme_code
        row.region_code.data = lot.region_code or ""
        row.expected_sessions.data = str(lot.expected_sessions)
        row.expected_trainees.data = str(lot.expected_trainees)
        row.max_price.data = _euros_input(lot.max_price_cents)
        row.duration_hours.data = str(lot.duration_hours or "")
        row.action_id.data = str(lot.action_id or "")
    for entry, criterion in zip(form.criteria.entries, tender.criteria, strict=False):
        entry.form.label.data = criterion.label
        entry.form.weight.data = str(criterion.weight)


def _weights(form: TenderForm) -> tuple[int | None, int]:
    """(total of the typed weights or None when one is not a whole number, number of weights typed)."""
    typed = [(row.weight.data or "").strip() for row in _filled(form.criteria.entries)]
    typed = [w for w in typed if w]
    if not all(w.isdigit() for w in typed):
        return None, len(typed)
    return sum(int(w) for w in typed), len(typed)


def _render_form(form: TenderForm, tender: Tender | None, general: dict | None = None, status: int = 200):
    total, typed = _weights(form)
    return (
        render_template(
            "opco/tenders/form.html", form=form, tender=tender, general=general or {}, total=total, typed=typed,
            lot_rows=len(form.lots.entries), criterion_rows=len(form.criteria.entries),
        ),
        status,
    )


@bp.route("/appels-d-offres/nouveau", methods=["GET", "POST"])
@require(Perm.MANAGE_TENDERS)
def tender_new():
    form = _tender_form()
    if request.method == "GET":
        form.required_documents.data = ["technical_proposal", "qualiopi_certificate"]
        return _render_form(form, None)
    general = {}
    if form.validate_on_submit():
        try:
            tender = service.create_tender(g.org, _tender_input(form), current_user, _now())
        except DomainError as error:
            db.session.rollback()
            general = _attach_errors(form, error)
        else:
            db.session.commit()
            flash(
                f"L'appel d'offres « {tender.title} » est enregistré en brouillon ; joignez vos fichiers puis "
                "publiez-le.",
                "success",
            )
            return redirect(url_for("opco.tender_detail", tender_id=tender.id), 303)
    return _render_form(form, None, general, 422)


@bp.route("/appels-d-offres/<int:tender_id>/modifier", methods=["GET", "POST"])
@require(Perm.MANAGE_TENDERS)
def tender_edit(tender_id: int):
    tender = _get_tender(tender_id)
    if tender.status != TenderStatus.DRAFT:
        return render_template("opco/tenders/frozen.html", tender=tender)
    form = _tender_form()
    if request.method == "GET":
        while len(form.lots.entries) < len(tender.lots) + 1 and len(form.lots.entries) < MAX_ROWS:
            form.lots.append_entry()
        while len(form.criteria.entries) < len(tender.criteria) + 1 and len(form.criteria.entries) < MAX_ROWS:
            form.criteria.append_entry()
        form = _with_choices(form)
        _fill(form, tender)
        return _render_form(form, tender)
    general = {}
    if form.validate_on_submit():
        try:
            service.update_tender(tender, _tender_input(form), current_user, _now())
        except DomainError as error:
            db.session.rollback()
            general = _attach_errors(form, error)
        else:
            db.session.commit()
            flash(f"Les modifications de l'appel d'offres « {tender.title} » sont enregistrées.", "success")
            return redirect(url_for("opco.tender_detail", tender_id=tender.id), 303)
    return _render_form(form, tender, general, 422)


def _with_choices(form: TenderForm) -> TenderForm:
    """Rows appended after construction get the same choices as the first one."""
    first = form.lots.entries[0].form
    for entry in form.lots.entries:
        entry.form.theme_code.choices = first.theme_code.choices
        entry.form.region_code.choices = first.region_code.choices
        entry.form.action_id.choices = first.action_id.choices
    return form


@bp.get("/appels-d-offres/ponderations")
@require(Perm.MANAGE_TENDERS)
def tender_weights():
    """The live total of the criteria's weights (htmx fragment, next to the criteria table)."""
    typed = []
    for key, value in request.args.items():
        if key.startswith("criteria-") and key.endswith("-weight") and value.strip():
            typed.append(value.strip())
    total = sum(int(w) for w in typed) if all(w.isdigit() for w in typed) else None
    return render_template("opco/tenders/_weights_total.html", total=total, typed=len(typed))


# --- Detail and state changes -----------------------------------------------------------------------


@bp.get("/appels-d-offres/<int:tender_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_detail(tender_id: int):
    tender = _get_tender(tender_id)
    now = _now()
    _commit_refresh(tender)
    return render_template(
        "opco/tenders/detail.html",
        tender=tender,
        badges=STATUS_BADGES,
        document_labels=TenderDocumentKind.LABELS,
        attachments=service.attachments(tender),
        counts=service.response_counts(tender),
        questions=service.opco_questions(tender),
        problems=service.publish_problems(tender, now) if tender.status == TenderStatus.DRAFT else [],
        events=[e for e in TENDER.allowed(tender.status) if e in EVENTS],
        machine=TENDER,
        deadline_passed=tender.submission_deadline is not None and tender.submission_deadline <= now,
        time_left=service.time_left_label,
        now=now,
        evaluation_link=_evaluation_link(),
        max_mb=storage.max_bytes() // (1024 * 1024),
    )


@bp.post("/appels-d-offres/<int:tender_id>/etat")
@require(Perm.MANAGE_TENDERS)
def tender_transition(tender_id: int):
    tender = _get_tender(tender_id)
    event = request.form.get("event", "")
    if event not in EVENTS:
        flash("Cette action n'est pas possible.", "error")
        return redirect(url_for("opco.tender_detail", tender_id=tender.id), 303)
    try:
        if event == "publish":
            service.publish(tender, current_user, _now())
        elif event == "start_analysis":
            service.start_analysis(tender, current_user, _now())
        else:
            service.declare_unsuccessful(tender, current_user, request.form.get("reason", ""))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(DONE[event].format(title=tender.title, deadline=datetime_fr(tender.submission_deadline)), "success")
    return redirect(url_for("opco.tender_detail", tender_id=tender.id), 303)


# --- Attachments ------------------------------------------------------------------------------------


@bp.post("/appels-d-offres/<int:tender_id>/pieces")
@require(Perm.MANAGE_TENDERS)
def tender_attachment_add(tender_id: int):
    tender = _get_tender(tender_id)
    upload = request.files.get("file")
    try:
        attachment = service.add_attachment(
            tender, upload.filename if upload else "", upload.read() if upload else b"", current_user
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"Le fichier « {attachment.filename} » est joint à l'appel d'offres.", "success")
    return redirect(url_for("opco.tender_detail", tender_id=tender.id, _anchor="pieces"), 303)


@bp.get("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_attachment(tender_id: int, attachment_id: int):
    attachment = _get_attachment(_get_tender(tender_id), attachment_id)
    return send_file(
        io.BytesIO(service.read_attachment(attachment)), mimetype=attachment.content_type, as_attachment=True,
        download_name=attachment.filename,
    )


@bp.post("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>/supprimer")
@require(Perm.MANAGE_TENDERS)
def tender_attachment_remove(tender_id: int, attachment_id: int):
    tender = _get_tender(tender_id)
    attachment = _get_attachment(tender, attachment_id)
    name = attachment.filename
    try:
        key = service.remove_attachment(attachment, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        storage.storage().delete(key)  # the file goes only once its row is gone for good
        flash(f"Le fichier « {name} » est retiré.", "success")
    return redirect(url_for("opco.tender_detail", tender_id=tender.id, _anchor="pieces"), 303)


# --- Questions --------------------------------------------------------------------------------------


@bp.post("/appels-d-offres/<int:tender_id>/questions/<int:question_id>")
@require(Perm.MANAGE_TENDERS)
def tender_answer(tender_id: int, question_id: int):
    tender = _get_tender(tender_id)
    question = db.session.get(TenderQuestion, question_id)
    if question is None or question.tender_id != tender.id:
        abort(404)
    publish = request.form.get("publish") in ("y", "on", "1", "true")
    try:
        service.answer_question(question, current_user, request.form.get("answer", ""), publish, _now())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            "La réponse est publiée : tous les organismes la lisent, sans le nom de l'auteur de la question."
            if publish
            else "La réponse est enregistrée : seul l'organisme qui a posé la question la voit.",
            "success",
        )
    return redirect(url_for("opco.tender_detail", tender_id=tender.id, _anchor=f"question-{question.id}"), 303)
