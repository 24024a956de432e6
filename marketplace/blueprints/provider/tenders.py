"""Calls for tenders seen by a training organisation: every OPCO's published tenders, filters, detail, questions.

Tenders are shared on purpose with every training organisation (never drafts), so they are looked up by
``services.tenders.tender_for_provider`` rather than ``get_owned``; what belongs to the organisation (its
questions) is filtered on it.
"""

from __future__ import annotations

import io
from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.blueprints.provider.routes import bp
from marketplace.extensions import db
from marketplace.models import Region, TenderAttachment, TenderDocumentKind, TenderStatus, Theme, utcnow
from marketplace.services import tenders as service
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm
from marketplace.web.guard import require

STATUS_BADGES = {
    TenderStatus.PUBLISHED: "badge-ok",
    TenderStatus.CLOSED: "badge-neutral",
    TenderStatus.UNDER_ANALYSIS: "badge-neutral",
    TenderStatus.AWARDED: "badge-neutral",
    TenderStatus.UNSUCCESSFUL: "badge-neutral",
}


def _tender(tender_id: int):
    tender = service.tender_for_provider(tender_id, utcnow())
    if tender is None:
        abort(404)
    if db.session.dirty:
        db.session.commit()  # its deadline has come: it was just closed
    return tender


def _filters() -> tuple[service.TenderFilters, dict[str, str]]:
    """Filters from the query string; unreadable values are ignored. Returns them and the args to keep."""
    args = request.args
    opco = args.get("opco", "")
    theme = args.get("theme", "")
    region = args.get("region", "")
    deadline_text = args.get("echeance", "")
    state = args.get("etat", "ouverts")
    try:
        deadline = date.fromisoformat(deadline_text) if deadline_text else None
    except ValueError:
        deadline, deadline_text = None, ""
    filters = service.TenderFilters(
        opco_id=int(opco) if opco.isdigit() else None,
        theme_code=theme or None,
        region_code=region or None,
        deadline_before=deadline,
        only_open=state != "tous",
        page=max(args.get("page", 1, type=int) or 1, 1),
    )
    kept = {"opco": opco if opco.isdigit() else "", "theme": theme, "region": region, "echeance": deadline_text,
            "etat": "tous" if state == "tous" else ""}
    return filters, {k: v for k, v in kept.items() if v}


@bp.get("/appels-d-offres")
@require(Perm.VIEW_DASHBOARD)
def tenders():
    g.vary_hx = True
    now = utcnow()
    filters, args = _filters()
    if service.close_due_tenders(now):
        db.session.commit()  # the list then shows them closed
    result = service.published_tenders(filters, now)
    context = dict(
        result=result,
        args=args,
        filters=filters,
        badges=STATUS_BADGES,
        time_left=service.time_left_label,
        now=now,
    )
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "resultats":
        return render_template("provider/tenders/_results.html", **context)
    return render_template(
        "provider/tenders/list.html",
        opcos=service.opcos_with_tenders(),
        themes=db.session.scalars(select(Theme).order_by(Theme.code)).all(),
        regions=db.session.scalars(select(Region).order_by(Region.name)).all(),
        **context,
    )


def _render_detail(tender, question_text: str = "", question_error: str | None = None, status: int = 200):
    now = utcnow()
    questions_open = (
        tender.status == TenderStatus.PUBLISHED
        and tender.questions_deadline is not None
        and tender.questions_deadline >= now
    )
    return (
        render_template(
            "provider/tenders/detail.html",
            tender=tender,
            badges=STATUS_BADGES,
            document_labels=TenderDocumentKind.LABELS,
            attachments=service.attachments(tender),
            answers=service.public_answers(tender),
            own_questions=service.provider_questions(tender, g.org),
            question_state=service.question_state,
            questions_open=questions_open,
            question_text=question_text,
            question_error=question_error,
            response_link="provider.tender_response" in current_app.view_functions,
            time_left=service.time_left_label,
            now=now,
        ),
        status,
    )


@bp.get("/appels-d-offres/<int:tender_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_detail(tender_id: int):
    return _render_detail(_tender(tender_id))


@bp.post("/appels-d-offres/<int:tender_id>/questions")
@require(Perm.RESPOND_TENDERS)
def tender_ask(tender_id: int):
    tender = _tender(tender_id)
    text = request.form.get("question", "")
    try:
        service.ask_question(tender, g.org, current_user, text, utcnow())
    except DomainError as error:
        db.session.rollback()
        return _render_detail(tender, text, error.message, 422)
    db.session.commit()
    flash(
        "Votre question est transmise à l'OPCO. Elle reste privée ; si l'OPCO publie sa réponse, tous les organismes "
        "la liront sans savoir qui l'a posée.",
        "success",
    )
    return redirect(url_for("provider.tender_detail", tender_id=tender.id, _anchor="vos-questions"), 303)


@bp.get("/appels-d-offres/<int:tender_id>/pieces/<int:attachment_id>")
@require(Perm.VIEW_DASHBOARD)
def tender_attachment(tender_id: int, attachment_id: int):
    tender = _tender(tender_id)
    attachment = db.session.get(TenderAttachment, attachment_id)
    if attachment is None or attachment.tender_id != tender.id:
        abort(404)
    return send_file(
        io.BytesIO(service.read_attachment(attachment)), mimetype=attachment.content_type, as_attachment=True,
        download_name=attachment.filename,
    )
