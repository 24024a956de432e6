"""Company: download the convocation of one of its employees (another company's answers 404)."""

from __future__ import annotations

from flask import abort

from marketplace.blueprints.company.routes import bp
from marketplace.models import Document
from marketplace.services import convocations
from marketplace.services.roles import Perm
from marketplace.web.downloads import pdf_response
from marketplace.web.guard import get_owned, require


@bp.get("/convocations/<int:convocation_id>")
@require(Perm.VIEW_DASHBOARD)
def convocation_download(convocation_id: int):
    document = get_owned(Document, convocation_id, column="company_id")
    file = convocations.file_of(document)
    if file is None:
        abort(404)
    return pdf_response(*file)
