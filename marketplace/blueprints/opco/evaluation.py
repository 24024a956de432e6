"""OPCO evaluation of a call for tenders: admissibility, conflict-of-interest statement, score sheets, ranking,
award; and the download of a response's documents (after the submission deadline only)."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.opco.evaluation_forms import (
    AdmissibilityForm,
    AwardForm,
    DeclarationForm,
    checklist_from,
    score_rows,
    winners_from,
)
from marketplace.blueprints.opco.routes import bp
from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ReferencingStatus,
    ResponseStatus,
    Tender,
    TenderDocumentKind,
    TenderResponse,
    TenderStatus,
    utcnow,
)
from marketplace.services import evaluation, tender_responses, tenders
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm, has_permission
from marketplace.web.guard import get_owned, require

RESPONSE_BADGES = {
    ResponseStatus.SUBMITTED: "badge-neutral",
    ResponseStatus.ADMISSIBLE: "badge-ok",
    ResponseStatus.INADMISSIBLE: "badge-error",
    ResponseStatus.RETAINED: "badge-ok",
    ResponseStatus.NOT_RETAINED: "badge-neutral",
}


def _get_tender(tender_id: int) -> Tender:
    return get_owned(Tender, tender_id, column="opco_id")


def _get_response(tender: Tender, response_id: int) -> TenderResponse:
    response = get_owned(TenderResponse, response_id, column="opco_id")
    if response.tender_id != tender.id:
        abort(404)
    return response


def _can(permission: str) -> bool:
    return has_permission(g.org.kind, g.membership.role, permission)


def _back(tender: Tender, anchor: str | None = None):
    return redirect(url_for("opco.tender_evaluation", tender_id=tender.id, _anchor=anchor), 303)


def _render(tender: Tender, *, status: int = 200, score_errors=None, score_input=None, award_form=None):
    now = utcnow()
    board = evaluation.board(tender, current_user, can_manage=_can(Perm.MANAGE_TENDERS), now=now)
    award_form = award_form or AwardForm()
    # The award form appears once every admissible response of every lot has at least one submitted sheet:
    # a ranking whose rows read « pas encore notée » must not invite a premature award.
    ranking_complete = all(
        lot.ranking is not None and all(row.score is not None for row in lot.ranking)
        for lot in board.lots
        if any(rv.response.status in evaluation.SCORED for rv in lot.responses)
    )
    return render_template(
        "opco/evaluation/page.html",
        tender=tender,
        board=board,
        now=now,
        automatic_labels=evaluation.AUTOMATIC_CHECKS,
        manual_labels=evaluation.MANUAL_CHECKLIST,
        document_labels=TenderDocumentKind.LABELS,
        badges=RESPONSE_BADGES,
        referencing_labels=ReferencingStatus.LABELS,
        admissibility_form=AdmissibilityForm(),
        declaration_form=DeclarationForm(),
        award_form=award_form,
        ranking_complete=ranking_complete,
        score_errors=score_errors or {},
        score_input=score_input or {},
        display_score=evaluation.display_score,
        statuses=ResponseStatus,
        tender_statuses=TenderStatus,
    ), status


@bp.get("/appels-d-offres/<int:tender_id>/evaluation")
@require(Perm.EVALUATE_TENDERS)
def tender_evaluation(tender_id: int):
    tender = _get_tender(tender_id)
    if tenders.refresh_status(tender, utcnow()):
        db.session.commit()  # the deadline has passed: the tender is closed for good
    form = AwardForm(formdata=None)
    today = paris_today()
    form.valid_from.data = today
    form.valid_until.data = today + timedelta(days=2 * 365)  # a two-year framework agreement by default
    return _render(tender, award_form=form)


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/reponses/<int:response_id>/recevabilite")
@require(Perm.MANAGE_TENDERS)
def tender_admissibility(tender_id: int, response_id: int):
    tender = _get_tender(tender_id)
    response = _get_response(tender, response_id)
    form = AdmissibilityForm()
    admissible = request.form.get("decision") == "admissible"
    name = response.provider.name
    if not form.validate_on_submit():
        flash("Le motif ne peut pas dépasser 500 caractères.", "error")
        return _back(tender, f"reponse-{response.id}")
    try:
        evaluation.decide_admissibility(
            response,
            current_user,
            g.org,
            admissible=admissible,
            checklist=checklist_from(request.form, evaluation.MANUAL_CHECKLIST),
            reason=form.reason.data,
            now=utcnow(),
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if admissible:
            flash(f"La réponse de {name} est déclarée recevable : elle peut être notée.", "success")
        else:
            flash(f"La réponse de {name} est déclarée irrecevable.", "success")
    return _back(tender, f"reponse-{response.id}")


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/declaration")
@require(Perm.EVALUATE_TENDERS)
def tender_declaration(tender_id: int):
    tender = _get_tender(tender_id)
    form = DeclarationForm()
    form.validate_on_submit()
    try:
        evaluation.sign_declaration(tender, current_user, bool(form.accept.data), utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back(tender, "declaration")
    db.session.commit()
    flash("Votre déclaration d'absence de conflit d'intérêts est signée : vous pouvez noter les réponses.", "success")
    return _back(tender)


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/reponses/<int:response_id>/notes")
@require(Perm.EVALUATE_TENDERS)
def tender_scores(tender_id: int, response_id: int):
    tender = _get_tender(tender_id)
    response = _get_response(tender, response_id)
    submit = request.form.get("submit_sheet") == "1"
    rows = score_rows(request.form, list(tender.criteria))
    name = response.provider.name
    try:
        evaluation.save_scores(response, current_user, rows, submit=submit, now=utcnow())
    except evaluation.InvalidScores as error:
        db.session.rollback()
        return _render(
            tender, status=422, score_errors={response.id: error.errors}, score_input={response.id: rows}
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back(tender, f"reponse-{response.id}")
    db.session.commit()
    if submit:
        flash(f"Votre grille pour {name} est envoyée ; elle n'est plus modifiable.", "success")
    else:
        flash(f"Votre grille pour {name} est enregistrée en brouillon.", "success")
    return _back(tender, f"reponse-{response.id}")


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/attribution")
@require(Perm.MANAGE_TENDERS)
def tender_award(tender_id: int):
    tender = _get_tender(tender_id)
    form = AwardForm()
    if not form.validate_on_submit():
        return _render(tender, status=422, award_form=form)
    winners = winners_from(request.form, [lot.id for lot in tender.lots])
    try:
        created = evaluation.award(
            tender,
            current_user,
            g.org,
            winners,
            valid_from=form.valid_from.data,
            valid_until=form.valid_until.data,
            now=utcnow(),
        )
    except DomainError as error:
        db.session.rollback()
        if error.field in ("valid_from", "valid_until"):
            getattr(form, error.field).errors = [error.message]
            return _render(tender, status=422, award_form=form)
        flash(error.message, "error")
        return _back(tender, "attribution")
    db.session.commit()
    count = sum(len(v) for v in created.values())
    flash(
        f"L'appel d'offres « {tender.title} » est attribué : {count} organisme(s) référencé(s). "
        "Chaque organisme ayant répondu est prévenu par courriel de son résultat.",
        "success",
    )
    return _back(tender, "resultat")


@bp.get("/appels-d-offres/<int:tender_id>/documents/<int:document_id>")
@require(Perm.EVALUATE_TENDERS)
def tender_response_document(tender_id: int, document_id: int):
    tender = _get_tender(tender_id)
    document = tender_responses.readable_document(document_id, opco=g.org, now=utcnow())
    if document is None or document.response.tender_id != tender.id:
        abort(404)
    return send_file(
        io.BytesIO(tender_responses.read_document(document)),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
