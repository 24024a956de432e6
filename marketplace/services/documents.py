"""Documents rendered once from an HTML template to PDF (WeasyPrint), stored with their SHA-256.

A document is never regenerated in place: ``issue`` renders, stores and records it; a correction is a new
document and the old one points to it (``supersede``). ``read`` checks the stored bytes against the hash,
so a file altered on disk is refused rather than served. Templates live in ``templates/pdf/`` and extend
``pdf/base.html`` (A4, French, the platform's fonts); they get plain data, never a request.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from flask import render_template

from marketplace.extensions import db
from marketplace.models import Document, User
from marketplace.services import storage
from marketplace.services.errors import DomainError

# WeasyPrint reports each layout step at INFO level: noise in the platform's logs, warnings are kept.
for _name in ("weasyprint", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_FONTS = []  # one FontConfiguration per process, created on first use


def font_config():
    """Reused from one document to the next: looking fonts up again costs more than laying a page out
    (bench/README.md: about half the time of a one-page certificate)."""
    if not _FONTS:
        from weasyprint.text.fonts import FontConfiguration

        _FONTS.append(FontConfiguration())
    return _FONTS[0]


def render_pdf(template: str, **context) -> bytes:
    """HTML template → PDF bytes. WeasyPrint is imported here: it is slow to import and only PDFs need it."""
    from weasyprint import HTML

    html = render_template(template, **context)
    return HTML(string=html, base_url=".").write_pdf(font_config=font_config())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def issue(
    kind: str,
    data: bytes,
    *,
    filename: str,
    session_id: int,
    provider_id: int,
    opco_id: int,
    enrolment_id: int | None = None,
    company_id: int | None = None,
    slot_id: int | None = None,
    content_type: str = "application/pdf",
    created_by: User | None = None,
    purge_after: date | None = None,
) -> Document:
    """Store the bytes and record the document (in the caller's transaction; the file is removed if it rolls
    back, see services.storage)."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ".pdf"
    key = storage.storage().save(data, extension)
    storage.discard_if_rolled_back(key)
    document = Document(
        kind=kind,
        session_id=session_id,
        enrolment_id=enrolment_id,
        slot_id=slot_id,
        provider_id=provider_id,
        opco_id=opco_id,
        company_id=company_id,
        filename=filename,
        content_type=content_type,
        storage_key=key,
        sha256=sha256(data),
        size_bytes=len(data),
        created_by_id=created_by.id if created_by else None,
        purge_after=purge_after,
    )
    db.session.add(document)
    db.session.flush()
    return document


def supersede(old: Document, new: Document) -> None:
    """A correction: the old document stays (with its hash) and points to the one replacing it."""
    old.superseded_by_id = new.id


def read(document: Document) -> bytes:
    """The stored bytes, checked against the hash recorded when the document was issued."""
    if document.storage_key is None:
        raise DomainError("Ce document a été supprimé à la fin de sa durée de conservation.")
    data = storage.storage().read(document.storage_key)
    if sha256(data) != document.sha256:
        raise DomainError("Ce document ne correspond plus à son empreinte : il ne peut pas être servi.")
    return data
