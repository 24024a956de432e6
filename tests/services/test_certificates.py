"""Certificates of a delivered session: what the PDFs say, one per kind per trainee, progress, trainee links,
generation after the closing is committed, new documents after a correction."""

from __future__ import annotations

import io
import re
import threading

from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_today
from marketplace.models import Document, DocumentKind, Enrolment, Opco, TraineeLink, TrainingSession
from marketplace.services import certificates, documents, retention, service_fait
from marketplace.services.identifiers import format_nda, format_siret
from tests.delivered import delivered_session


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _world(make, **kwargs):
    """Three trainees of two companies: 14 h done, 10 h 30 done, absent the whole session."""
    first = make.company(name="Boulangerie Dupain")
    second = make.company(name="Menuiserie Copeau")
    jean = make.employee(first, last_name="Dupont", first_name="Jean", email="jean.dupont@exemple.test")
    lea = make.employee(second, last_name="Martin", first_name="Léa", email="lea.martin@exemple.test")
    paul = make.employee(first, last_name="Absent", first_name="Paul", email="paul.absent@exemple.test")
    provider = make.provider(name="Formations du Rhône")
    provider.signatory_name, provider.signatory_title = "Claire Directrice", "Directrice générale"
    action = make.action(title="Sécurité au travail", objectives="Prévenir les risques du poste.")
    action.assessment_method = "QCM de fin de formation et mise en situation."
    db.session.commit()
    session, enrolments = delivered_session(
        make,
        [
            (first, jean, "attended", 840),
            (second, lea, "partially_attended", 630),
            (first, paul, "absent", 0),
        ],
        action=action,
        provider=provider,
        **kwargs,
    )
    return session, enrolments


def _documents(session_id: int, *, current: bool = True) -> list[Document]:
    query = select(Document).where(Document.session_id == session_id).order_by(Document.id)
    if current:
        query = query.where(Document.superseded_by_id.is_(None))
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def test_each_trainee_with_hours_gets_a_certificate_and_an_attestation_saying_what_the_law_requires(
    app, make
):
    session, (jean, lea, paul) = _world(make)

    issued = certificates.generate_for_session(session.id, tenant_id=session.provider_id)

    assert issued == 4
    found = _documents(session.id)
    assert sorted((d.enrolment_id, d.kind) for d in found) == sorted(
        (e.id, kind) for e in (jean, lea) for kind in (DocumentKind.CERTIFICATE, DocumentKind.ATTESTATION)
    ), "no document for the trainee absent the whole session (0 h)"
    session = db.session.get(TrainingSession, session.id)
    provider = session.provider
    by_key = {(d.enrolment_id, d.kind): d for d in found}

    certificate = _flat(_text(documents.read(by_key[(jean.id, DocumentKind.CERTIFICATE)])))
    assert "Certificat de réalisation" in certificate
    assert "DUPONT Jean" in certificate
    assert "Boulangerie Dupain" in certificate and format_siret(jean.company.siret) in certificate
    assert "Sécurité au travail" in certificate
    assert "action de formation" in certificate
    assert f"du {date_fr(session.start_date)} au {date_fr(session.end_date)}" in certificate
    assert re.search(r"\d{2}/\d{2}/\d{4}", certificate)
    assert "durée de 14 h réalisée" in certificate
    assert provider.name in certificate and format_siret(provider.siret) in certificate
    assert format_nda(provider.nda) in certificate
    assert "Claire Directrice" in certificate and "Directrice générale" in certificate

    partial = _flat(_text(documents.read(by_key[(lea.id, DocumentKind.CERTIFICATE)])))
    assert "MARTIN Léa" in partial and "Menuiserie Copeau" in partial and "10 h 30" in partial

    attestation = _flat(_text(documents.read(by_key[(lea.id, DocumentKind.ATTESTATION)])))
    assert "Attestation de fin de formation" in attestation
    assert "Prévenir les risques du poste." in attestation
    assert "QCM de fin de formation" in attestation
    assert "10 h 30 suivies sur 14 h prévues" in attestation
    assert "Réalisée (partielle)" in attestation
    assert format_nda(provider.nda) in attestation

    keep_until = retention.purge_after(session)
    assert keep_until == session.end_date.replace(year=session.end_date.year + 6)
    assert {d.purge_after for d in found} == {keep_until}
    assert {d.company_id for d in found} == {jean.company_id, lea.company_id}
    assert {d.opco_id for d in found} == {session.opco_id}


def test_running_the_job_twice_issues_one_document_per_kind_per_trainee(app, make):
    session, _ = _world(make)
    assert certificates.generate_for_session(session.id) == 4
    assert certificates.generate_for_session(session.id) == 0
    found = _documents(session.id, current=False)
    assert len(found) == 4
    assert len({(d.enrolment_id, d.kind) for d in found}) == 4


def test_two_workers_at_once_issue_one_document_per_kind_per_trainee(app, make):
    session, _ = _world(make)
    session_id = session.id  # read here: the threads must not touch the test's database session
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                try:
                    certificates.generate_for_session(session_id)
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    found = _documents(session.id, current=False)
    assert (
        sorted((d.enrolment_id, d.kind) for d in found) == sorted({(d.enrolment_id, d.kind) for d in found})
        and len(found) == 4
    )


def test_progress_counts_documents_against_two_per_trainee_with_hours(app, make):
    session, _ = _world(make)
    assert certificates.progress(session) == certificates.Progress(0, 4)
    certificates.generate_for_session(session.id)
    progress = certificates.progress(db.session.get(TrainingSession, session.id))
    assert (progress.done, progress.expected, progress.finished) == (4, 4, True)


def test_a_session_not_delivered_gets_no_document(app, make):
    session, _ = _world(make, status="completed", closed=False)
    assert certificates.generate_for_session(session.id) == 0
    assert _documents(session.id) == []


def test_another_organisation_id_as_tenant_generates_nothing(app, make):
    session, _ = _world(make)
    assert certificates.generate_for_session(session.id, tenant_id=session.provider_id + 999) == 0


def test_documents_are_generated_once_the_closing_is_committed_and_not_after_a_rollback(app, make):
    session, _ = _world(make)
    certificates.after_delivery(session)
    db.session.rollback()
    assert _documents(session.id) == []

    session = db.session.get(TrainingSession, session.id)
    certificates.after_delivery(session)
    db.session.commit()  # the job runs now (no Redis: inline, in its own database session)
    assert len(_documents(session.id)) == 4


def test_trainees_are_emailed_a_personal_link_that_only_opens_their_own_documents(app, make, outbox):
    session, (jean, lea, paul) = _world(make)
    certificates.generate_for_session(session.id)

    [message] = [m for m in outbox("jean.dupont@exemple.test") if m.template == "certificates_trainee"]
    assert "certificat de réalisation" in message.body_text
    token = re.search(r"/stagiaire/documents/([A-Za-z0-9_-]+)", message.body_text).group(1)
    assert not [m for m in outbox("paul.absent@exemple.test") if m.template == "certificates_trainee"]

    link = certificates.link_for_token(token, paris_today())
    assert link is not None and link.enrolment_id == jean.id
    stored = db.session.scalar(select(TraineeLink).where(TraineeLink.enrolment_id == jean.id))
    assert token not in stored.token_hash  # only the hash is stored
    mine = certificates.trainee_documents(link)
    assert {d.kind for d in mine} == {DocumentKind.CERTIFICATE, DocumentKind.ATTESTATION}
    assert {d.enrolment_id for d in mine} == {jean.id}
    lea_certificate = next(d for d in _documents(session.id) if d.enrolment_id == lea.id)
    assert certificates.trainee_download(token, lea_certificate.id, paris_today()) is None
    assert certificates.trainee_download(token + "x", mine[0].id, paris_today()) is None
    assert certificates.trainee_download(token, mine[0].id, paris_today()).id == mine[0].id
    # The link stops at the end of the retention period.
    assert (
        certificates.link_for_token(token, link.valid_until.replace(year=link.valid_until.year + 1)) is None
    )
    # Each company is told its employees' documents are ready.
    assert any("Certificats de réalisation disponibles" in m.subject for m in outbox())


def test_after_a_correction_the_next_closing_issues_new_documents_superseding_the_old(app, make):
    session, (jean, lea, _paul) = _world(make)
    certificates.generate_for_session(session.id)
    opco_admin = make.user()
    make.member(db.session.get(Opco, session.opco_id), opco_admin, "admin")

    service_fait.request_correction(session, "Heures de Léa à vérifier.", opco_admin, session.opco_id)
    db.session.commit()
    # The organisation corrects and closes again (done by services.delivery; here directly).
    session = db.session.get(TrainingSession, session.id)
    session.status = "delivered"
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)):
        enrolment.status = "closed"
    db.session.get(Enrolment, lea.id).attended_minutes = 700
    db.session.commit()
    assert certificates.progress(session).done == 0  # the old documents are out of date

    assert certificates.generate_for_session(session.id) == 4
    everything = _documents(session.id, current=False)
    assert len(everything) == 8
    current = _documents(session.id)
    assert len(current) == 4
    old = [d for d in everything if d.superseded_by_id is not None]
    assert len(old) == 4 and {d.superseded_by_id for d in old} == {d.id for d in current}
    lea_certificate = next(
        d for d in current if d.enrolment_id == lea.id and d.kind == DocumentKind.CERTIFICATE
    )
    assert "11 h 40" in _flat(_text(documents.read(lea_certificate)))


def test_retention_end_follows_the_opco_setting(app, make):
    session, _ = _world(make)
    opco = db.session.get(Opco, session.opco_id)
    opco.retention_years = 10
    db.session.commit()
    assert retention.purge_after(session) == session.end_date.replace(year=session.end_date.year + 10)


def test_hours_are_written_the_french_way():
    assert certificates.hours_fr(840) == "14 h"
    assert certificates.hours_fr(630) == "10 h 30"
    assert certificates.hours_fr(65) == "1 h 05"
    assert certificates.hours_fr(None) == "0 h"
