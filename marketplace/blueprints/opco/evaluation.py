"""OPCO evaluation of a call for tenders: admissibility, conflict-of-interest statement, score sheets, ranking,
award; and the download of a response's documents (after the submission deadline only).

Who sees which scores is decided by ``services.evaluation_pages.board`` by the sealing rule written in
``services.evaluation_scores`` (scores sealed until one's own sheets are sent, managers included); the page
only shows what the board holds.
"""

from __future__ import annotations

import io
from datetime import timedelta

from flask import abort, g, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.opco.evaluation_forms import (
    AdmissibilityForm,
    AwardForm,
    DeclarationForm,
    ScoreSheetErrors,
    checklist_from,
    score_rows,
    winners_from,
)
from marketplace.blueprints.opco.routes import bp
from marketplace.formatting import of_name, paris_today, plural
from marketplace.models import (
    ReferencingStatus,
    ResponseStatus,
    Tender,
    TenderDocumentKind,
    TenderResponse,
    TenderStatus,
    utcnow,
)
from marketplace.services import (
    evaluation,
    evaluation_award,
    evaluation_pages,
    evaluation_scores,
    tender_response_reads,
)
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
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
    response = evaluation_pages.response_of(tender, response_id)
    if response is None:
        abort(404)
    return response


def _url(tender: Tender, anchor: str | None = None) -> str:
    return url_for("opco.tender_evaluation", tender_id=tender.id, _anchor=anchor)


def _default_award_form() -> AwardForm:
    form = AwardForm(formdata=None)
    today = paris_today()
    form.valid_from.data = today
    form.valid_until.data = today + timedelta(days=2 * 365)  # a two-year framework agreement by default
    return form


def _page(tender_id: int, *, score_errors=None, score_input=None, award_form=None):
    tender = _get_tender(tender_id)
    data = evaluation_pages.evaluation_page(tender, current_user, utcnow())
    return render(
        "opco/evaluation/page.html",
        tender=data.tender,
        board=data.board,
        now=utcnow(),
        automatic_labels=evaluation.AUTOMATIC_CHECKS,
        manual_labels=evaluation.MANUAL_CHECKLIST,
        document_labels=TenderDocumentKind.LABELS,
        badges=RESPONSE_BADGES,
        referencing_labels=ReferencingStatus.LABELS,
        admissibility_form=AdmissibilityForm(formdata=None),
        declaration_form=DeclarationForm(formdata=None),
        award_form=award_form or _default_award_form(),
        ranking_complete=data.ranking_complete,
        score_errors=score_errors or {},
        score_input=score_input or {},
        display_score=evaluation_scores.display_score,
        statuses=ResponseStatus,
        tender_statuses=TenderStatus,
    )


@bp.get("/appels-d-offres/<int:tender_id>/evaluation")
@require(Perm.EVALUATE_TENDERS)
def tender_evaluation(tender_id: int):
    return _page(tender_id)


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/reponses/<int:response_id>/recevabilite")
@require(Perm.MANAGE_TENDERS)
def tender_admissibility(tender_id: int, response_id: int):
    tender = _get_tender(tender_id)
    response = _get_response(tender, response_id)
    admissible = request.form.get("decision") == "admissible"
    checklist = checklist_from(request.form, evaluation.MANUAL_CHECKLIST)
    reason = request.form.get("reason", "")
    name = response.provider.name
    return perform(
        lambda: evaluation.decide_admissibility(
            response,
            current_user,
            g.org,
            admissible=admissible,
            checklist=checklist,
            reason=reason,
            now=utcnow(),
        ),
        done=_url(tender, f"reponse-{response.id}"),
        message=f"La réponse {of_name(name)} est déclarée recevable : elle peut être notée."
        if admissible
        else f"La réponse {of_name(name)} est déclarée irrecevable.",
        failed=lambda error: _page(tender_id),
    )


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/declaration")
@require(Perm.EVALUATE_TENDERS)
def tender_declaration(tender_id: int):
    tender = _get_tender(tender_id)
    accepted = bool(DeclarationForm().accept.data)
    return perform(
        lambda: evaluation_scores.sign_declaration(tender, current_user, accepted, utcnow()),
        done=_url(tender),
        message="Votre déclaration d'absence de conflit d'intérêts est signée : vous pouvez noter les réponses.",
        failed=lambda error: _page(tender_id),
    )


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/reponses/<int:response_id>/notes")
@require(Perm.EVALUATE_TENDERS)
def tender_scores(tender_id: int, response_id: int):
    tender = _get_tender(tender_id)
    response = _get_response(tender, response_id)
    submitting = request.form.get("submit_sheet") == "1"
    rows = score_rows(request.form, list(tender.criteria))
    name = response.provider.name
    cells = ScoreSheetErrors()
    return perform(
        lambda: evaluation_scores.save_scores(response, current_user, rows, submit=submitting, now=utcnow()),
        done=_url(tender, f"reponse-{response.id}"),
        message=f"Votre grille pour {name} est envoyée ; elle n'est plus modifiable."
        if submitting
        else f"Votre grille pour {name} est enregistrée en brouillon.",
        failed=lambda error: _page(
            tender_id,
            score_errors={response_id: cells.errors} if cells.errors else None,
            score_input={response_id: rows},
        ),
        form=cells,
    )


@bp.post("/appels-d-offres/<int:tender_id>/evaluation/attribution")
@require(Perm.MANAGE_TENDERS)
def tender_award(tender_id: int):
    tender = _get_tender(tender_id)
    form = AwardForm()
    winners = winners_from(request.form, evaluation_pages.lot_ids(tender))
    return submit(
        form,
        lambda: evaluation_award.award(
            tender,
            current_user,
            g.org,
            winners,
            valid_from=form.valid_from.data,
            valid_until=form.valid_until.data,
            now=utcnow(),
        ),
        page=lambda: _page(tender_id, award_form=form),
        done=_url(tender, "resultat"),
        message=lambda created: (
            f"L'appel d'offres « {tender.title} » est attribué : "
            f"{plural(sum(len(v) for v in created.values()), 'organisme référencé')}. Chaque organisme ayant répondu est "
            "prévenu par courriel de son résultat."
        ),
    )


@bp.get("/appels-d-offres/<int:tender_id>/documents/<int:document_id>")
@require(Perm.EVALUATE_TENDERS)
def tender_response_document(tender_id: int, document_id: int):
    tender = _get_tender(tender_id)
    document = tender_response_reads.readable_document(document_id, opco=g.org, now=utcnow())
    if document is None or document.response.tender_id != tender.id:
        abort(404)
    return send_file(
        io.BytesIO(tender_response_reads.read_document(document)),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
