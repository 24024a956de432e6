"""Serving a stored document: the file with its name, never cached (documents hold personal data)."""

from __future__ import annotations

from flask import Response


def pdf_response(filename: str, data: bytes, *, inline: bool = False) -> Response:
    response = Response(data, mimetype="application/pdf")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
