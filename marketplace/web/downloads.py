"""Serving a stored document (convocation, certificate, attendance sheet…) once the view has checked who may
read it: the file with its name, never kept by a shared cache (documents hold personal data)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort


def _file_response(data: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    response = Response(data, mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def stream_file(chunks, content_type: str, filename: str) -> Response:
    """A stored file sent in pieces as it is read (a large export), never kept by a shared cache."""
    response = Response(chunks, content_type=content_type)
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_document(document, data: bytes | None) -> Response:
    """A stored document as an attachment; 404 when there is none to read."""
    if document is None or data is None:
        abort(404)
    return _file_response(data, document.content_type, document.filename)


def pdf_response(filename: str, data: bytes, *, inline: bool = False) -> Response:
    """A PDF rendered for this request (a preview) or read from storage."""
    return _file_response(data, "application/pdf", filename, inline=inline)


def xml_response(data: bytes, filename: str) -> Response:
    """A stored XML file (a SEPA credit transfer) as an attachment."""
    return _file_response(data, "application/xml", filename)
