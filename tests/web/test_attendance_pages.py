"""Attendance pages: the OF opens today's half-day, a trainee signs from the link (no sign-in), the trainer
attests, an amendment needs a reason, the sheet PDF, closing; other organisations get 404, a member without
« saisir les émargements » 403."""

from __future__ import annotations

import base64
import io
import re
from datetime import time

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Attendance,
    AttendanceAmendment,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionStatus,
    TrainingSession,
)
from marketplace.services.demo_delivery import signature_png
from tests.web.pages import flashes, text


@pytest.fixture
def setup(make):
    """A session whose only half-day is today, from midnight (so that the tests run at any hour), 3 trainees."""
    admin = make.user(email="of@exemple.test", full_name="Claire Formatrice")
    provider = make.provider(admin=admin, name="Formations du Rhône")
    action = make.action(make.opco("akto"), title="Gestes et postures", duration_hours="3.5")
    session = make.session(action, provider, status="open")
    company = make.company(name="Nettoyage Confluence")
    for last, first in (("Garcia", "Inès"), ("Lopez", "Théo"), ("Martin", "Zoé")):
        make.enrolment(session, company, make.employee(company, last_name=last, first_name=first))
    today = paris_today()
    slot = session.slots[0]
    slot.day, slot.start_time, slot.end_time = today, time(0, 0), time(12, 30)
    session.start_date = session.end_date = today
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    return provider, admin, session, slot


def _base(provider, session) -> str:
    return f"/of/{provider.slug}/sessions/{session.id}/emargement"


def _open(client, provider, session, slot):
    response = client.post(f"{_base(provider, session)}/{slot.id}/ouvrir")
    assert response.status_code == 303
    return list(
        db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id).order_by(Attendance.id))
    )


def _data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png("test")).decode()


def test_the_of_opens_today_and_a_trainee_signs_from_the_link_without_signing_in(app, client, login, setup):
    provider, admin, session, slot = setup
    login(client, admin)
    rows = _open(client, provider, session, slot)
    assert len(rows) == 3
    page = client.get(f"{_base(provider, session)}/{slot.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        "GARCIA Inès" in html and rows[0].sign_token in html and "data:image/png;base64," in html
    )  # QR code
    assert db.session.get(TrainingSession, session.id).status == SessionStatus.IN_PROGRESS

    trainee = app.test_client()
    sign_url = f"/emargement/{rows[0].sign_token}?via=qr"
    page = trainee.get(sign_url)
    assert page.status_code == 200
    assert "Gestes et postures" in text(page) and "GARCIA Inès" in text(page)
    response = trainee.post(
        f"/emargement/{rows[0].sign_token}",
        data={"via": "qr", "signature": _data_url()},
        headers={"User-Agent": "Mobile Safari"},
    )
    assert response.status_code == 303
    page = trainee.get(response.headers["Location"])
    assert "Votre présence est enregistrée" in text(page) and "Vous avez signé" in text(page)
    row = db.session.get(Attendance, rows[0].id)
    assert (row.sign_method, row.status, row.user_agent) == ("qr", "present", "Mobile Safari")
    assert row.signature_png == signature_png("test") and row.proof_sha256

    # The accessible fallback, then an unknown link.
    response = trainee.post(
        f"/emargement/{rows[1].sign_token}", data={"via": "lien", "certify": "y", "typed_name": "Théo Lopez"}
    )
    assert response.status_code == 303
    assert db.session.get(Attendance, rows[1].id).sign_method == "checkbox"
    response = trainee.post(f"/emargement/{rows[2].sign_token}", data={"via": "lien"})
    assert response.status_code == 422 and "Je certifie" in text(response)
    assert trainee.get("/emargement/jeton-inexistant").status_code == 404


def test_the_trainer_attests_then_changes_go_through_an_amendment_with_a_reason(client, login, setup):
    provider, admin, session, slot = setup
    login(client, admin)
    rows = _open(client, provider, session, slot)
    base = f"{_base(provider, session)}/{slot.id}"
    for row in rows[:2]:
        client.post(f"/emargement/{row.sign_token}", data={"via": "appareil", "signature": _data_url()})
    response = client.post(f"{base}/attester", data={"trainer_name": "Claire Formatrice", "confirm": "y"})
    assert response.status_code == 422 and "Indiquez la présence de : MARTIN Zoé" in text(response)
    marks = {f"marks-{i}-attendance_id": str(r.id) for i, r in enumerate(rows)}
    marks |= {f"marks-{i}-status": s for i, s in enumerate(("present", "late", "absent"))}
    marks |= {"marks-1-minutes_missed": "20"}
    response = client.post(f"{base}/attester", data={**marks, "trainer_name": "Claire Formatrice"})
    assert response.status_code == 422 and "Cochez l'attestation" in text(response)
    assert 'selected value="late"' in text(response)  # the presences sent are shown again, not lost
    # The attestation saves the presences sent with it (one form, two buttons).
    response = client.post(
        f"{base}/attester",
        data={**marks, "trainer_name": "Claire Formatrice", "confirm": "y", "signature": _data_url()},
    )
    assert response.status_code == 303
    record = db.session.scalar(select(HalfDayAttestation).where(HalfDayAttestation.slot_id == slot.id))
    assert record.is_locked and record.signature_png == signature_png("test")
    page = client.get(base)
    assert "Attestée" in text(page) and "Rectifier une présence" in text(page)
    # Outcomes follow the attendance once every half-day is attested.
    statuses = [db.session.get(Enrolment, r.enrolment_id).status for r in rows]
    assert statuses == [EnrolmentStatus.ATTENDED, EnrolmentStatus.PARTIALLY_ATTENDED, EnrolmentStatus.ABSENT]

    amend = {
        "attendance_id": str(rows[2].id),
        "status": "excused",
        "excuse_reason": "Arrêt maladie",
        "reason": "",
    }
    response = client.post(f"{base}/rectifier", data=amend)
    assert response.status_code == 422 and db.session.scalar(select(AttendanceAmendment)) is None
    response = client.post(f"{base}/rectifier", data={**amend, "reason": "Justificatif reçu ce jour"})
    assert response.status_code == 303
    assert db.session.scalar(select(AttendanceAmendment)).reason == "Justificatif reçu ce jour"
    assert "Justificatif reçu ce jour" in text(client.get(base))
    assert db.session.get(Enrolment, rows[2].enrolment_id).status == EnrolmentStatus.ABSENT_EXCUSED


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_closing_refused_while_unsigned_then_freezes_hours_and_issues_the_sheet(client, login, setup):
    provider, admin, session, slot = setup
    login(client, admin)
    rows = _open(client, provider, session, slot)
    response = client.post(f"/of/{provider.slug}/sessions/{session.id}/cloturer")
    assert response.status_code == 303
    assert any("non attestée" in m for m in flashes(client.get(response.headers["Location"])))
    assert db.session.get(TrainingSession, session.id).status == SessionStatus.IN_PROGRESS

    preview = client.get(f"/of/{provider.slug}/sessions/{session.id}/emargement.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert "Document provisoire" in _pdf_text(preview.data)

    for row in rows:
        client.post(f"/emargement/{row.sign_token}", data={"via": "lien", "signature": _data_url()})
    client.post(
        f"{_base(provider, session)}/{slot.id}/attester",
        data={"trainer_name": "Claire Formatrice", "confirm": "y"},
    )
    response = client.post(f"/of/{provider.slug}/sessions/{session.id}/cloturer")
    assert response.status_code == 303
    assert any("service fait" in m for m in flashes(client.get(response.headers["Location"])))
    session = db.session.get(TrainingSession, session.id)
    assert session.status == SessionStatus.DELIVERED
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)))
    assert {(e.status, e.outcome, e.planned_minutes, e.attended_minutes) for e in enrolments} == {
        (EnrolmentStatus.CLOSED, EnrolmentStatus.ATTENDED, 750, 750)
    }
    sheet = db.session.scalar(select(Document).where(Document.kind == DocumentKind.ATTENDANCE_SHEET))
    issued = client.get(f"/of/{provider.slug}/sessions/{session.id}/emargement.pdf")
    assert issued.data and sheet.sha256 == __import__("hashlib").sha256(issued.data).hexdigest()
    pdf = _pdf_text(issued.data)
    assert "GARCIA Inès" in pdf and "MARTIN Zoé" in pdf and "Claire Formatrice" in pdf and "clôturée" in pdf


def test_a_scanned_paper_sheet_proves_the_half_day(client, login, setup):
    provider, admin, session, slot = setup
    login(client, admin)
    rows = _open(client, provider, session, slot)
    base = f"{_base(provider, session)}/{slot.id}"
    marks = {f"marks-{i}-attendance_id": str(r.id) for i, r in enumerate(rows)}
    marks |= {f"marks-{i}-status": "present" for i in range(3)}
    client.post(f"{base}/presences", data=marks)
    response = client.post(
        f"{base}/preuve",
        data={"kind": "paper_sheet", "file": (io.BytesIO(b"%PDF-1.4 feuille"), "feuille.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    document = db.session.scalar(select(Document).where(Document.kind == DocumentKind.PAPER_SHEET))
    assert document.slot_id == slot.id and document.provider_id == provider.id
    assert "Preuve déposée" in text(client.get(base))
    download = client.get(f"/of/{provider.slug}/sessions/{session.id}/preuves/{document.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 feuille"


def test_other_organisations_get_404_and_members_without_the_permission_403(app, client, login, make, setup):
    provider, admin, session, slot = setup
    other = make.provider(admin=make.user(email="autre@exemple.test"))
    accountant = make.user(email="compta@exemple.test")
    make.member(provider, accountant, "accountant")
    trainer = make.user(email="formateur@exemple.test")
    make.member(provider, trainer, "trainer")
    urls = [
        ("get", f"{_base(provider, session)}"),
        ("get", f"{_base(provider, session)}/{slot.id}"),
        ("get", f"/of/{provider.slug}/sessions/{session.id}/emargement.pdf"),
        ("post", f"{_base(provider, session)}/{slot.id}/ouvrir"),
        ("post", f"/of/{provider.slug}/sessions/{session.id}/cloturer"),
    ]
    login(client, other.memberships[0].user)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
        # Own slug, someone else's session: 404 too.
        foreign = url.replace(provider.slug, other.slug)
        assert getattr(client, method)(foreign).status_code == 404, foreign
    client = app.test_client()
    login(client, accountant)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    assert db.session.scalar(select(HalfDayAttestation)) is None
    client = app.test_client()
    login(client, trainer)  # « Formateur »: takes attendance
    assert client.get(f"{_base(provider, session)}/{slot.id}").status_code == 200
    # A half-day of another session under this session's URL: 404.
    other_session = make.session(make.action(make.opco("akto")), provider, status="open")
    assert client.get(f"{_base(provider, session)}/{other_session.slots[0].id}").status_code == 404
    assert re.search(r"Ouvrir la demi-journée", text(client.get(f"{_base(provider, session)}/{slot.id}")))


def test_ids_of_another_session_in_the_forms_change_nothing(client, login, make, setup):
    provider, admin, session, slot = setup
    login(client, admin)
    rows = _open(client, provider, session, slot)
    # Another organisation's session, opened too, with its own lines.
    other_admin = make.user(email="autre-of@exemple.test")
    other = make.provider(admin=other_admin)
    foreign_session = make.session(make.action(make.opco("akto")), other, status="open")
    company = make.company()
    foreign_enrolment = make.enrolment(foreign_session, company)
    foreign_slot = foreign_session.slots[0]
    foreign_slot.day, foreign_slot.start_time = paris_today(), time(0, 0)
    foreign_session.start_date = paris_today()
    foreign_session.status = SessionStatus.CONFIRMED
    db.session.commit()
    from marketplace.services import attendance

    attendance.open_half_day(foreign_session, foreign_slot, other_admin)
    db.session.commit()
    foreign_line = db.session.scalar(select(Attendance).where(Attendance.slot_id == foreign_slot.id))
    base = f"{_base(provider, session)}/{slot.id}"
    client.post(
        f"{base}/presences", data={"marks-0-attendance_id": str(foreign_line.id), "marks-0-status": "absent"}
    )
    assert db.session.get(Attendance, foreign_line.id).status is None
    response = client.post(
        f"/of/{provider.slug}/sessions/{session.id}/abandon",
        data={"enrolment_id": str(foreign_enrolment.id), "reason": "Essai"},
    )
    assert response.status_code == 422
    assert db.session.get(Enrolment, foreign_enrolment.id).status == EnrolmentStatus.IN_TRAINING
    assert len(rows) == 3
