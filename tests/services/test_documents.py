"""Documents are rendered once to PDF, stored with their hash and refused if the stored file was altered."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from marketplace.extensions import db
from marketplace.models import Document, DocumentKind
from marketplace.services import documents, storage
from marketplace.services.errors import DomainError


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_document_is_stored_with_its_hash_and_read_back(app, make):
    session = make.session()
    data = documents.render_pdf(
        "pdf/base.html",
    )
    assert data.startswith(b"%PDF-")
    doc = documents.issue(
        DocumentKind.CONVOCATION,
        data,
        filename="convocation.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
    )
    db.session.commit()
    stored = db.session.get(Document, doc.id)
    assert stored.sha256 == documents.sha256(data) and stored.size_bytes == len(data)
    assert documents.read(stored) == data


def test_french_text_and_amounts_survive_the_pdf(app):
    from flask import render_template_string

    html = render_template_string(
        "{% extends 'pdf/base.html' %}{% block body %}<h1>Certificat de réalisation</h1>"
        "<p>Durée réalisée : 14 heures — 1 234,56 € HT — Émargé le 11/01/2027</p>{% endblock %}"
    )
    from weasyprint import HTML

    text = _text(HTML(string=html).write_pdf())
    assert "Certificat de réalisation" in text
    assert "1 234,56 € HT" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Émargé le 11/01/2027" in text


def test_an_altered_file_is_refused(app, make):
    session = make.session()
    doc = documents.issue(
        DocumentKind.CERTIFICATE,
        b"%PDF-1.7 original",
        filename="certificat.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
    )
    db.session.commit()
    path = storage.storage()._path(doc.storage_key)
    path.write_bytes(b"%PDF-1.7 falsified")
    with pytest.raises(DomainError, match="empreinte"):
        documents.read(doc)


def test_a_rolled_back_issue_leaves_no_file(app, make):
    session = make.session()
    db.session.commit()
    doc = documents.issue(
        DocumentKind.CERTIFICATE,
        b"%PDF-1.7 draft",
        filename="certificat.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
    )
    path = storage.storage()._path(doc.storage_key)
    assert path.exists()
    db.session.rollback()
    assert not path.exists()
    assert db.session.query(Document).count() == 0
