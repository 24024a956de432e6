"""Company: the certificates and attestations of its own employees (another company's are never found)."""

from __future__ import annotations

from flask import g

from marketplace.blueprints.company.routes import bp
from marketplace.services import delivery_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import render
from marketplace.web.downloads import send_document
from marketplace.web.guard import require
from marketplace.web.params import page_arg


@bp.get("/documents-de-formation")
@require(Perm.ENROL)
def training_documents():
    return render("company/documents/list.html", result=delivery_pages.company_documents(g.org, page_arg()))


@bp.get("/documents-de-formation/<int:training_document_id>")
@require(Perm.ENROL)
def download_training_document(training_document_id: int):
    document = delivery_pages.readable_document(g.org, training_document_id)
    return send_document(document, delivery_pages.document_bytes(document))
