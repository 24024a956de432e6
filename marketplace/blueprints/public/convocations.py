"""The trainee's personal link to their convocation, sent by email: no account needed, the token is the key."""

from __future__ import annotations

from flask import abort

from marketplace.blueprints.public.routes import bp
from marketplace.extensions import limiter
from marketplace.services import convocations
from marketplace.web.downloads import pdf_response
from marketplace.web.guard import public


@bp.get("/convocation/<token>")
@public
@limiter.limit("30 per minute")
def convocation_download(token: str):
    document = convocations.by_token(token)
    file = convocations.file_of(document) if document is not None else None
    if file is None:
        abort(404)
    return pdf_response(*file)
