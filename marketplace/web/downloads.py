"""Serving a stored document (certificate, attendance sheet…) once the view has checked who may read it."""

from __future__ import annotations

import io

from flask import abort, send_file
from werkzeug.wrappers import Response


def send_document(document, data: bytes | None) -> Response:
    """The file as an attachment, never cached by a shared cache (personal data); 404 when unreadable."""
    if document is None or data is None:
        abort(404)
    response = send_file(
        io.BytesIO(data),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
