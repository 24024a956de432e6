"""Calls for tenders seen by a training organisation: every OPCO's published tenders, filters, detail, questions.

Tenders are shared on purpose with every training organisation (never drafts), so they are looked up by
``services.tender_listing.tender_for_provider`` rather than ``get_owned``; what belongs to the organisation
(its questions) is filtered on it. Reading a tender never writes: past its deadline it shows as closed.
"""

from __future__ import annotations

import io

from flask import abort, current_app, g, request, send_file, url_for
from flask_login import current_user

from marketplace.blueprints.provider.routes import bp
from marketplace.models import TenderDocumentKind, TenderStatus, utcnow
from marketplace.services import tender_listing, tender_pages, tender_questions
from marketplace.services import tenders as service
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.guard import require
from marketplace.web.params import int_arg, page_arg, parse_date

STATUS_BADGES = {
    TenderStatus.PUBLISHED: "badge-ok",
    TenderStatus.CLOSED: "badge-neutral",
    TenderStatus.UNDER_ANALYSIS: "badge-neutral",
    TenderStatus.AWARDED: "badge-neutral",
    TenderStatus.UNSUCCESSFUL: "badge-neutral",
}


def _tender(tender_id: int):
    tender = tender_listing.tender_for_provider(tender_id)
    if tender is None:
        abort(404)
    return tender


def _filters() -> tuple[tender_listing.TenderFilters, dict[str, str]]:
    """Filters from the query string; unreadable values are ignored. Returns them and the args to keep."""
    args = request.args
    opco_id = int_arg("opco")
    theme = tender_pages.code_or_none(args.get("theme"))
    region = tender_pages.code_or_none(args.get("region"))
    deadline = parse_date(args.get("echeance"))
    everything = args.get("etat") == "tous"
    filters = tender_listing.TenderFilters(
        opco_id=opco_id,
        theme_code=theme,
        region_code=region,
        deadline_before=deadline,
        only_open=not everything,
        page=page_arg(),
    )
    kept = {
        "opco": str(opco_id or ""),
        "theme": theme or "",
        "region": region or "",
        "echeance": deadline.isoformat() if deadline else "",
        "etat": "tous" if everything else "",
    }
    return filters, {k: v for k, v in kept.items() if v}


@bp.get("/appels-d-offres")
@require(Perm.VIEW_DASHBOARD)
def tenders():
    now = utcnow()
    filters, args = _filters()
    choices = tender_pages.filter_choices()
    return render(
        "provider/tenders/list.html",
        fragment="provider/tenders/_results.html",
        result=tender_pages.provider_list(filters, now),
        args=args,
        filters=filters,
        badges=STATUS_BADGES,
        time_left=service.time_left_label,
        now=now,
        opcos=choices.opcos,
        themes=choices.themes,
        regions=choices.regions,
    )


def _detail_page(tender_id: int, question_text: str = "", question_error: str | None = None):
    now = utcnow()
    data = tender_pages.provider_detail(_tender(tender_id), g.org, now)
    return render(
        "provider/tenders/detail.html",
        tender=data.tender,
        badges=STATUS_BADGES,
        document_labels=TenderDocumentKind.LABELS,
        attachments=data.attachments,
        answers=data.answers,
        own_questions=data.own_questions,
        question_state=tender_questions.question_state,
        questions_open=data.questions_open,
        question_text=question_text,
        question_error=question_error,
        response_link="provider.tender_response" in current_app.view_functions,
        time_left=service.time_left_label,
        now=now,
    )


@bp.get("/appels-d-offres/<int:tender_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_detail(tender_id: int):
    return _detail_page(tender_id)


class _QuestionForm:
    """The page's one-field form, so that a refusal about the question is shown under its field."""

    class _Field:
        def __init__(self):
            self.errors: list[str] = []

    def __init__(self):
        self.question = self._Field()


@bp.post("/appels-d-offres/<int:tender_id>/questions")
@require(Perm.RESPOND_TENDERS)
def tender_ask(tender_id: int):
    tender = _tender(tender_id)
    text = request.form.get("question", "")
    form = _QuestionForm()
    return perform(
        lambda: tender_questions.ask_question(tender, g.org, current_user, text, utcnow()),
        done=url_for("provider.tender_detail", tender_id=tender.id, _anchor="vos-questions"),
        message="Votre question est transmise à l'OPCO. Elle reste privée ; si l'OPCO publie sa réponse, tous les "
        "organismes la liront sans savoir qui l'a posée.",
        failed=lambda error: _detail_page(tender_id, text, " ".join(form.question.errors) or None),
        form=form,
    )


@bp.get("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_attachment(tender_id: int, attachment_id: int):
    attachment = tender_pages.attachment_of(_tender(tender_id), attachment_id)
    if attachment is None:
        abort(404)
    return send_file(
        io.BytesIO(service.read_attachment(attachment)),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )
