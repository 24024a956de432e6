"""Retention of training proofs: purge at the end of the period (file deleted, trace kept), and erasure of an
employee on request keeping only the names the proofs require until then."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Document, Employee, Enrolment, TraineeLink, TrainingSession
from marketplace.services import certificates, retention
from marketplace.services import employees as register
from marketplace.services.errors import DomainError
from tests.delivered import delivered_session


def _file(key: str) -> Path:
    return Path(current_app.config["STORAGE_DIR"]) / key[:2] / key


def _certified(make, *, email="lea.martin@exemple.test"):
    company = make.company(name="Menuiserie Copeau")
    lea = make.employee(company, last_name="Martin", first_name="Léa", email=email, job_title="Menuisière")
    session, [enrolment] = delivered_session(make, [(company, lea, "attended", 840)])
    certificates.generate_for_session(session.id)
    return session, enrolment, lea


def test_purge_deletes_the_files_past_their_date_and_keeps_the_trace_row(app, make):
    session, enrolment, _ = _certified(make)
    other, _, _ = _certified(make, email="autre@exemple.test")
    docs = db.session.scalars(select(Document).where(Document.session_id == session.id)).all()
    keys = [d.storage_key for d in docs]
    keep_until = docs[0].purge_after
    assert all(_file(k).exists() for k in keys)

    # The last day of the period is still kept.
    assert retention.purge(keep_until).documents == 0
    db.session.commit()

    # The day after it, the session's files go (the other session ended on the same day: its files go too).
    report = retention.purge(keep_until + timedelta(days=1))
    db.session.commit()
    assert report.documents == 4 and report.links == 2
    for document, key in zip(docs, keys, strict=True):
        row = db.session.get(Document, document.id, populate_existing=True)
        assert row is not None, "the row stays as the trace that the proof existed"
        assert row.storage_key is None and row.purged_at is not None
        assert "martin" not in row.filename.lower(), "the trainee's name leaves the filename"
        assert row.sha256 and row.kind
        assert not _file(key).exists()
    assert db.session.scalar(select(TraineeLink).where(TraineeLink.enrolment_id == enrolment.id)) is None

    # Idempotent: a second run finds nothing more.
    again = retention.purge(keep_until + timedelta(days=1))
    db.session.commit()
    assert (again.documents, again.links, again.employees) == (0, 0, 0)


def test_purge_keeps_the_documents_whose_period_is_running(app, make):
    session, _, _ = _certified(make)
    assert retention.purge(paris_today()).documents == 0
    db.session.commit()
    docs = db.session.scalars(select(Document).where(Document.session_id == session.id)).all()
    assert all(d.storage_key and _file(d.storage_key).exists() for d in docs)


def test_purge_retention_command_runs_the_purge(app, make, cli):
    session, _, _ = _certified(make)
    keep_until = db.session.scalar(select(Document.purge_after).where(Document.session_id == session.id))
    result = cli("purge-retention", "--date", (keep_until + timedelta(days=1)).isoformat())
    assert result.exit_code == 0, result.output
    assert "2 documents supprimés" in result.output
    result = cli("purge-retention", "--date", (keep_until + timedelta(days=1)).isoformat())
    assert "0 document supprimé" in result.output


def test_an_employee_who_never_trained_is_erased_entirely_as_before(app, make):
    company = make.company()
    lea = make.employee(company, last_name="Martin", first_name="Léa")
    retention.erase_employee(lea, None)
    db.session.commit()
    row = db.session.get(Employee, lea.id)
    assert (row.last_name, row.first_name, row.email, row.job_title) == (
        register.ERASED_PLACEHOLDER,
        register.ERASED_PLACEHOLDER,
        "",
        "",
    )
    assert row.erased_at is not None and retention.proof_name(row) == "Salarié supprimé"


def test_an_employee_with_proofs_keeps_only_the_names_until_the_end_of_retention(app, make):
    session, enrolment, lea = _certified(make)
    retention.erase_employee(lea, None)
    db.session.commit()
    row = db.session.get(Employee, lea.id)
    assert row.erased_at is not None
    assert (row.email, row.job_title) == ("", "")
    assert row.full_name == "Salarié supprimé", "the company's register no longer shows the person"
    assert retention.proof_name(row) == "MARTIN Léa", "the proofs keep the name"
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "employee.erased")).all()
    keep_until = retention.purge_after(db.session.get(TrainingSession, session.id))
    assert event.data == {"names_kept_until": keep_until.isoformat()}
    assert "Martin" not in str(event.data)

    # Until the end of retention the purge leaves the names; after it they go too.
    assert retention.purge(keep_until).employees == 0
    report = retention.purge(keep_until + timedelta(days=1))
    db.session.commit()
    assert report.employees == 1
    row = db.session.get(Employee, lea.id, populate_existing=True)
    assert (row.last_name, row.first_name) == (register.ERASED_PLACEHOLDER, register.ERASED_PLACEHOLDER)
    assert retention.proof_name(row) == "Salarié supprimé"


@pytest.mark.parametrize("status", ["in_training", "attended", "absent"])
def test_erasure_waits_until_the_training_is_closed(app, make, status):
    company = make.company()
    lea = make.employee(company)
    _, [enrolment] = delivered_session(
        make, [(company, lea, "attended", 840)], status="completed", closed=False
    )
    db.session.get(Enrolment, enrolment.id).status = status
    db.session.commit()
    with pytest.raises(DomainError, match="pas encore clôturée"):
        retention.erase_employee(lea, None)


def test_erasure_is_still_refused_while_an_enrolment_is_alive(app, make):
    company = make.company()
    lea = make.employee(company)
    make.enrolment(make.session(), company, lea)
    with pytest.raises(DomainError, match="inscriptions en cours"):
        retention.erase_employee(lea, None)
