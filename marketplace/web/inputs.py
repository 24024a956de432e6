"""Inputs refused before any view runs: control characters in sent text, and URLs too long to be real.

One check for every request (``before_request``), so no form, filter or service has to remember it:

- **Control characters.** A NUL byte cannot be stored in a PostgreSQL text (the driver refuses it: a 500),
  and the other C0 control characters (except tab, CR and LF) or lone surrogates have no place in a name,
  a title or a programme. Any of them in a query argument or a form field (name or value, uploaded file
  names included) answers **400** with the French page « Le texte envoyé contient des caractères non
  autorisés… » (so does such a character in the path); the view never runs, so nothing is changed.
- **Too-large forms.** A form body beyond ``MAX_FORM_MEMORY_SIZE`` (Flask's 500 kB: far above the longest
  form, a tender response of 2 × 20 000 characters) answers **413**; Werkzeug applies that bound to each text
  part of a multipart form but not to an urlencoded body, which would otherwise go up to
  ``MAX_CONTENT_LENGTH`` (16 MB, for uploads).
- **Too-long URLs.** Path and query string beyond ``MAX_URL_LENGTH`` characters answer **414** with the
  app's French page. gunicorn is started with ``--limit-request-line 8190`` (scripts/run.sh) so that such
  URLs reach the app instead of gunicorn's own English error; beyond 8 190 bytes gunicorn answers itself.

Lengths of each text (titles, long texts…) are bounded field by field: see ``marketplace/models/limits.py``
and the form base class in ``web/forms.py``.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestURITooLarge

from marketplace.formatting import number_fr

MAX_URL_LENGTH = 2000

# C0 controls but tab (\x09), LF (\x0a) and CR (\x0d); lone UTF-16 surrogates (never valid text).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

UNSAFE_TEXT_TITLE = "Caractères non autorisés"
UNSAFE_TEXT_MESSAGE = (
    "Le texte envoyé contient des caractères non autorisés (caractères de contrôle, par exemple un octet nul). "
    "Revenez à la page précédente, retirez-les et envoyez de nouveau : rien n'a été enregistré."
)
URL_TOO_LONG_TITLE = "Adresse trop longue"
URL_TOO_LONG_MESSAGE = (
    f"L'adresse demandée dépasse {number_fr(MAX_URL_LENGTH)} caractères : "
    "raccourcissez la recherche ou revenez à la page précédente."
)


class UnsafeText(BadRequest):
    """A query argument or a form field carries a control character."""

    description = UNSAFE_TEXT_MESSAGE


def has_forbidden_characters(value: str | None) -> bool:
    return bool(value) and FORBIDDEN_CHARACTERS.search(value) is not None


def _sent_texts():
    yield request.path
    for key, value in request.args.items(multi=True):
        yield key
        yield value
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        for key, value in request.form.items(multi=True):
            yield key
            yield value
        for key, upload in request.files.items(multi=True):
            yield key
            yield upload.filename or ""


def check_request() -> None:
    """Refuse the request (414 or 400) before the view when the URL or a sent text cannot be right."""
    if len(request.path) + len(request.query_string) > MAX_URL_LENGTH:
        raise RequestURITooLarge()
    limit = current_app.config.get("MAX_FORM_MEMORY_SIZE")
    if (
        limit
        and request.mimetype == "application/x-www-form-urlencoded"
        and (request.content_length or 0) > limit
    ):
        # Werkzeug bounds each text part of a multipart form (MAX_FORM_MEMORY_SIZE), not an urlencoded body.
        raise RequestEntityTooLarge()
    if any(has_forbidden_characters(text) for text in _sent_texts()):
        raise UnsafeText()


def init_app(app: Flask) -> None:
    """Run first among the app's ``before_request`` functions (CSRF aside), before any blueprint's guard."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
