"""Attendance per trainee × half-day: opening, signing window, proof, the trainer's attestation and its lock,
amendments (audited), proofs by paper scan or connection export, hours and outcomes, closing (service fait)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_to_utc, paris_today
from marketplace.models import (
    Attendance,
    AttendanceAmendment,
    AuditEvent,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionStatus,
    SignMethod,
    TrainingSession,
)
from marketplace.services import (
    attendance,
    attendance_marks,
    attendance_proofs,
    delivery,
    enrolments,
    signature_proofs,
    waitlist,
)
from marketplace.services.attendance import SignatureInput
from marketplace.services.attendance_marks import AttestInput, MarkInput
from marketplace.services.demo_delivery import signature_png
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import format_nda

S = EnrolmentStatus


def at(day: date, hhmm: str) -> datetime:
    """A Paris wall-clock time on ``day`` as the naive UTC the services take."""
    return paris_to_utc(datetime.combine(day, time.fromisoformat(hhmm)))


@dataclass
class World:
    session: TrainingSession
    trainer: object
    enrolments: list[Enrolment]
    day: date

    @property
    def am(self):
        return self.session.slots[0]

    @property
    def pm(self):
        return self.session.slots[1]


@pytest.fixture
def world(make) -> World:
    trainer = make.user(email="formatrice@of.test", full_name="Claire Formatrice")
    provider = make.provider(admin=trainer, name="Formations du Rhône")
    action = make.action(make.opco("akto"), title="Gestes et postures", duration_hours="7")
    day = paris_today() + timedelta(days=30)
    session = make.session(action, provider, start=day, days=1, status="open")
    company = make.company(name="Nettoyage Confluence")
    people = [("Garcia", "Inès"), ("Lopez", "Théo"), ("Martin", "Zoé")]
    enrolments = [
        make.enrolment(session, company, make.employee(company, last_name=last, first_name=first))
        for last, first in people
    ]
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    return World(session, trainer, enrolments, day)


def _open(w: World, slot, now=None) -> dict[int, Attendance]:
    attendance.open_half_day(w.session, slot, w.trainer, now=now or at(w.day, "08:30"))
    db.session.commit()
    return {
        r.enrolment_id: r for r in db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id))
    }


def _sign(row: Attendance, now: datetime, **kwargs) -> Attendance:
    data = SignatureInput(method=kwargs.pop("method", SignMethod.LINK), **kwargs)
    if data.signature is None and not data.certified:
        data.signature = signature_png(f"stagiaire {row.id}")
    attendance.sign(row, data, now=now)
    db.session.commit()
    return row


def _attest(w: World, slot, now: datetime, marks=None):
    attendance_marks.attest(
        w.session, slot, AttestInput("Claire Formatrice", marks=marks), w.trainer, now=now
    )
    db.session.commit()


def _full_half_day(w: World, slot, statuses: dict[int, MarkInput] | None = None, end="12:00"):
    """Open, every trainee signs unless marked otherwise, marks, attest."""
    rows = _open(w, slot)
    statuses = statuses or {}
    for enrolment_id, row in rows.items():
        mark = statuses.get(enrolment_id)
        if mark is None or mark.status in ("present", "late"):
            _sign(row, at(slot.day, slot.start_time.strftime("%H:%M")) + timedelta(minutes=1))
    marks = [MarkInput(rows[e].id, m.status, m.minutes_missed, m.excuse_reason) for e, m in statuses.items()]
    _attest(w, slot, at(slot.day, slot.end_time.strftime("%H:%M")), marks=marks)


# --- Opening ---------------------------------------------------------------------------------------------------


def test_a_half_day_opens_on_its_day_and_starts_the_session_and_the_training(world):
    w = world
    with pytest.raises(DomainError, match="n'a pas commencé"):
        attendance.open_half_day(w.session, w.am, w.trainer, now=at(w.day - timedelta(days=1), "17:00"))
    db.session.rollback()
    rows = _open(w, w.am)
    assert len(rows) == 3 and len({r.sign_token for r in rows.values()}) == 3
    assert db.session.get(TrainingSession, w.session.id).status == SessionStatus.IN_PROGRESS
    assert {db.session.get(Enrolment, e.id).status for e in w.enrolments} == {S.IN_TRAINING}
    assert all(r.status is None and r.signed_at is None for r in rows.values())


def test_starting_the_session_puts_its_trainees_in_training(world):
    from marketplace.services import sessions

    sessions.transition(world.session, "start", world.trainer, now=at(world.day, "08:00"))
    db.session.commit()
    assert {db.session.get(Enrolment, e.id).status for e in world.enrolments} == {S.IN_TRAINING}


# --- The trainee signs ------------------------------------------------------------------------------------------


def test_no_signature_before_the_half_day_nor_after_its_day(world):
    w = world
    row = _open(w, w.am)[w.enrolments[0].id]
    with pytest.raises(DomainError, match="La signature ouvrira"):
        _sign(row, at(w.day, "08:44"))  # 9:00 start, opens at 8:45
    db.session.rollback()
    with pytest.raises(DomainError, match="est close"):
        _sign(row, at(w.day + timedelta(days=1), "00:00"))
    db.session.rollback()
    _sign(row, at(w.day, "23:59"))  # the grace: until the end of the day
    assert row.signed_at == at(w.day, "23:59") and row.status == "present"


def test_a_signature_keeps_its_proof_and_a_link_signs_once(world):
    w = world
    row = _open(w, w.am)[w.enrolments[0].id]
    png = signature_png("Inès")
    _sign(
        row,
        at(w.day, "09:02"),
        signature=png,
        method=SignMethod.QR,
        ip_address="203.0.113.7",
        user_agent="Mobile",
    )
    row = db.session.get(Attendance, row.id)
    assert (row.sign_method, row.ip_address, row.user_agent, row.signature_png) == (
        SignMethod.QR,
        "203.0.113.7",
        "Mobile",
        png,
    )
    assert row.proof_sha256 == signature_proofs.attendance_proof_hash(row) and len(row.proof_sha256) == 64
    row.user_agent = "Autre"  # any change to the proof shows in its hash
    assert signature_proofs.attendance_proof_hash(row) != row.proof_sha256
    db.session.rollback()
    with pytest.raises(DomainError, match="Vous avez signé"):
        _sign(row, at(w.day, "09:05"))


def test_the_accessible_fallback_needs_the_certification_and_the_name(world):
    w = world
    row = _open(w, w.am)[w.enrolments[0].id]
    with pytest.raises(DomainError, match="Je certifie"):
        _sign(row, at(w.day, "09:02"), certified=True, typed_name="")
    db.session.rollback()
    _sign(row, at(w.day, "09:02"), certified=True, typed_name="Inès Garcia")
    assert (row.sign_method, row.signed_name, row.signature_png) == (SignMethod.CHECKBOX, "Inès Garcia", None)


def test_a_drawing_that_is_not_a_small_png_is_refused(world):
    w = world
    row = _open(w, w.am)[w.enrolments[0].id]
    for bad in ("data:image/png;base64,AAAA", "data:image/svg+xml;base64,PHN2Zz4=", "pas une image"):
        with pytest.raises(DomainError, match="signature dessinée"):
            _sign(row, at(w.day, "09:02"), signature=bad)
        db.session.rollback()
    with pytest.raises(DomainError, match="trop volumineuse"):
        _sign(row, at(w.day, "09:02"), signature=signature_proofs.PNG_MAGIC + b"0" * 100_001)
    db.session.rollback()
    assert db.session.get(Attendance, row.id).signed_at is None


def test_a_token_of_another_half_day_cannot_sign_today(world):
    w = world
    w.session.slots[1].day = w.day + timedelta(days=1)  # the afternoon moved to the next day
    db.session.commit()
    morning = _open(w, w.am)[w.enrolments[0].id]
    _open(w, w.pm, now=at(w.day + timedelta(days=1), "13:00"))
    with pytest.raises(DomainError, match="est close"):
        _sign(morning, at(w.day + timedelta(days=1), "13:35"))
    db.session.rollback()
    assert attendance.by_token(morning.sign_token).slot_id == w.am.id
    assert attendance.by_token("jeton-inexistant") is None


# --- The trainer attests; the lock; amendments -------------------------------------------------------------------


def test_the_trainer_attests_once_every_trainee_is_marked_and_signed(world):
    w = world
    rows = _open(w, w.am)
    a, b, c = (rows[e.id] for e in w.enrolments)
    _sign(a, at(w.day, "09:01"))
    with pytest.raises(DomainError, match="commence à 09h00"):
        _attest(w, w.am, at(w.day, "08:50"))
    db.session.rollback()
    with pytest.raises(DomainError, match="Indiquez la présence de"):
        _attest(w, w.am, at(w.day, "12:30"))
    db.session.rollback()
    with pytest.raises(DomainError, match="Pas encore de signature pour : LOPEZ Théo"):
        _attest(w, w.am, at(w.day, "12:30"), marks=[MarkInput(b.id, "present"), MarkInput(c.id, "absent")])
    db.session.rollback()
    with pytest.raises(DomainError, match="motif de l'absence justifiée"):
        _attest(w, w.am, at(w.day, "12:30"), marks=[MarkInput(b.id, "excused"), MarkInput(c.id, "absent")])
    db.session.rollback()
    _attest(
        w,
        w.am,
        at(w.day, "12:30"),
        marks=[MarkInput(b.id, "excused", excuse_reason="Arrêt maladie"), MarkInput(c.id, "absent")],
    )
    record = db.session.scalar(select(HalfDayAttestation).where(HalfDayAttestation.slot_id == w.am.id))
    assert record.is_locked and record.trainer_name == "Claire Formatrice"
    assert record.proof_sha256 == signature_proofs.attestation_proof_hash(record)
    # Locked: no more marks, no more signatures.
    with pytest.raises(DomainError, match="rectification motivée"):
        attendance_marks.mark(
            w.session, w.am, [MarkInput(c.id, "present")], w.trainer, now=at(w.day, "12:40")
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="déjà attesté"):
        _sign(c, at(w.day, "12:45"))


def test_after_the_lock_a_change_is_an_amendment_with_its_reason_audited(world):
    w = world
    rows = _open(w, w.am)
    for row in rows.values():
        _sign(row, at(w.day, "09:00"))
    _attest(w, w.am, at(w.day, "12:30"))
    target = rows[w.enrolments[1].id]
    with pytest.raises(DomainError, match="motif de la rectification"):
        attendance_marks.amend(w.session, w.am, MarkInput(target.id, "late", 45), "", w.trainer)
    db.session.rollback()
    attendance_marks.amend(
        w.session, w.am, MarkInput(target.id, "late", 45), "Parti à 11h45 (rendez-vous)", w.trainer
    )
    db.session.commit()
    amendment = db.session.scalar(select(AttendanceAmendment))
    assert amendment.before["status"] == "present" and amendment.after == {
        "status": "late",
        "minutes_missed": 45,
        "excuse_reason": None,
    }
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.amended"))
    assert event.data["reason"] == "Parti à 11h45 (rendez-vous)" and event.actor_id == w.trainer.id
    assert db.session.get(Attendance, target.id).minutes_missed == 45


# --- Proofs other than e-signatures ------------------------------------------------------------------------------


def test_a_paper_scan_proves_a_half_day_once_presences_are_marked(world):
    w = world
    rows = _open(w, w.am)
    scan = b"%PDF-1.4 scan"
    with pytest.raises(DomainError, match="présence de chaque stagiaire"):
        attendance_proofs.upload_proof(
            w.session, w.am, DocumentKind.PAPER_SHEET, "scan.pdf", scan, w.trainer, now=at(w.day, "12:30")
        )
    db.session.rollback()
    attendance_marks.mark(
        w.session,
        w.am,
        [MarkInput(r.id, "present") for r in rows.values()],
        w.trainer,
        now=at(w.day, "12:00"),
    )
    with pytest.raises(DomainError, match="PDF"):
        attendance_proofs.upload_proof(
            w.session, w.am, DocumentKind.PAPER_SHEET, "scan.txt", b"x", w.trainer, now=at(w.day, "12:30")
        )
    db.session.rollback()
    attendance_marks.mark(
        w.session,
        w.am,
        [MarkInput(r.id, "present") for r in rows.values()],
        w.trainer,
        now=at(w.day, "12:00"),
    )
    document = attendance_proofs.upload_proof(
        w.session, w.am, DocumentKind.PAPER_SHEET, "scan.pdf", scan, w.trainer, now=at(w.day, "12:30")
    )
    db.session.commit()
    assert document.slot_id == w.am.id and document.kind == DocumentKind.PAPER_SHEET
    assert attendance.attestation_of(w.am).is_locked
    assert delivery.unproven_slots(w.session) == [w.pm]


def test_a_connection_export_marks_the_trainees_it_names_for_a_distance_session(world):
    w = world
    w.session.is_remote = True
    db.session.commit()
    rows = _open(w, w.am)
    export = "Nom;Prénom;Connexion;Durée\nGARCIA;Inès;09:01;210\nlopez;theo;09:10;200\n".encode()
    attendance_proofs.upload_proof(
        w.session,
        w.am,
        DocumentKind.CONNECTION_LOG,
        "connexions.csv",
        export,
        w.trainer,
        now=at(w.day, "12:40"),
    )
    db.session.commit()
    statuses = {e.id: db.session.get(Attendance, rows[e.id].id).status for e in w.enrolments}
    assert list(statuses.values()) == ["present", "present", "absent"]
    assert db.session.get(Attendance, rows[w.enrolments[0].id].id).sign_method == SignMethod.CONNECTION_LOG


# --- Hours, outcomes and closing ---------------------------------------------------------------------------------


def test_hours_come_from_the_half_days_and_are_capped_at_the_planned_minutes(world):
    w = world
    a, b, c = w.enrolments
    _full_half_day(w, w.am, {b.id: MarkInput(0, "late", 30), c.id: MarkInput(0, "absent")})
    _full_half_day(w, w.pm, {c.id: MarkInput(0, "excused", excuse_reason="Enfant malade")})
    figures = delivery.session_figures(w.session)
    assert delivery.planned_minutes(w.session) == 420  # 3 h 30 + 3 h 30
    assert (figures[a.id].attended_minutes, figures[a.id].outcome) == (420, S.ATTENDED)
    assert (figures[b.id].attended_minutes, figures[b.id].outcome) == (390, S.PARTIALLY_ATTENDED)
    assert (figures[c.id].attended_minutes, figures[c.id].outcome) == (0, S.ABSENT)
    # Never above what was planned (e.g. half-days longer than the planned hours the enrolment carries).
    rows = list(db.session.scalars(select(Attendance).where(Attendance.enrolment_id == a.id)))
    assert delivery.figures(db.session.get(Enrolment, a.id), rows, 400).attended_minutes == 400


def test_closing_is_refused_while_a_half_day_is_not_attested(world):
    w = world
    _full_half_day(w, w.am)
    _open(w, w.pm)
    with pytest.raises(DomainError, match="après-midi du"):
        delivery.close_session(w.session, w.trainer, now=at(w.day, "18:00"))
    db.session.rollback()
    assert db.session.get(TrainingSession, w.session.id).status == SessionStatus.IN_PROGRESS
    with pytest.raises(DomainError, match="vous pourrez la clôturer"):
        delivery.close_session(w.session, w.trainer, now=at(w.day - timedelta(days=1), "18:00"))


def test_closing_freezes_outcomes_and_hours_closes_enrolments_and_issues_the_sheet(world):
    w = world
    a, b, c = w.enrolments
    _full_half_day(
        w, w.am, {b.id: MarkInput(0, "late", 30), c.id: MarkInput(0, "excused", excuse_reason="Maladie")}
    )
    _full_half_day(w, w.pm, {c.id: MarkInput(0, "excused", excuse_reason="Maladie")})
    delivery.close_session(w.session, w.trainer, now=at(w.day, "18:00"))
    db.session.commit()
    session = db.session.get(TrainingSession, w.session.id)
    assert session.status == SessionStatus.DELIVERED and session.delivered_at == at(w.day, "18:00")
    frozen = {e.id: db.session.get(Enrolment, e.id) for e in w.enrolments}
    assert {e.status for e in frozen.values()} == {S.CLOSED}
    assert [
        (frozen[x.id].outcome, frozen[x.id].planned_minutes, frozen[x.id].attended_minutes) for x in (a, b, c)
    ] == [
        (S.ATTENDED, 420, 420),
        (S.PARTIALLY_ATTENDED, 420, 390),
        (S.ABSENT_EXCUSED, 420, 0),
    ]
    assert all(e.closed_at == at(w.day, "18:00") for e in frozen.values())
    sheet = db.session.scalar(select(Document).where(Document.kind == DocumentKind.ATTENDANCE_SHEET))
    assert sheet.session_id == session.id and sheet.purge_after.year == w.day.year + 6
    # Frozen: nothing changes afterwards, not even by an amendment.
    with pytest.raises(DomainError, match="service fait"):
        attendance_marks.amend(session, w.am, MarkInput(1, "present"), "Erreur de saisie", w.trainer)
    db.session.rollback()
    with pytest.raises(DomainError, match="déjà clôturée"):
        delivery.close_session(session, w.trainer, now=at(w.day, "18:05"))


def test_an_abandonment_declared_by_the_organisation_is_the_outcome(world):
    w = world
    a, b, c = w.enrolments
    _full_half_day(w, w.am)
    with pytest.raises(DomainError, match="motif de l'abandon"):
        delivery.declare_abandon(w.session, c.id, "", w.trainer)
    db.session.rollback()
    delivery.declare_abandon(w.session, c.id, "A quitté la formation à midi", w.trainer)
    db.session.commit()
    rows = _open(w, w.pm)
    assert c.id not in rows  # no line on the half-days after the abandonment
    for row in rows.values():
        _sign(row, at(w.day, "13:31"))
    _attest(w, w.pm, at(w.day, "17:00"))
    delivery.close_session(w.session, w.trainer, now=at(w.day, "18:00"))
    db.session.commit()
    closed = db.session.get(Enrolment, c.id)
    assert (closed.status, closed.outcome, closed.attended_minutes) == (S.CLOSED, S.ABANDONED, 210)
    assert closed.status_reason == "A quitté la formation à midi"


def test_no_presence_at_all_without_excuse_is_an_unexcused_absence(world):
    w = world
    c = w.enrolments[2]
    _full_half_day(w, w.am, {c.id: MarkInput(0, "absent")})
    _full_half_day(w, w.pm, {c.id: MarkInput(0, "excused", excuse_reason="Retour justifié")})
    assert delivery.session_figures(w.session)[c.id].outcome == S.ABSENT


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_attendance_sheet_shows_names_dates_times_trainer_and_nda(world):
    w = world
    _full_half_day(w, w.am, {w.enrolments[2].id: MarkInput(0, "absent")})
    from marketplace.services import attendance_sheet

    data = attendance_sheet.render(w.session)
    text = _pdf_text(data)
    # The drawn signatures are on the sheet as images: the two trainees present on the morning.
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 2
    provider = w.session.provider
    for expected in (
        "GARCIA Inès",
        "LOPEZ Théo",
        "MARTIN Zoé",
        "Gestes et postures",
        w.day.strftime("%d/%m/%Y"),
    ):
        assert expected in text
    assert "09:00 – 12:30" in text and "13:30 – 17:00" in text
    assert "Claire Formatrice" in text and "Absent(e)" in text and "Non attestée" in text
    assert f"NDA {format_nda(provider.nda)}" in text
    assert "Document provisoire" in text


def test_after_a_correction_request_an_amendment_and_a_new_closing_supersede_the_sheet(world):
    from marketplace.services import enrolment_states, sessions

    w = world
    _full_half_day(w, w.am)
    _full_half_day(w, w.pm)
    delivery.close_session(w.session, w.trainer, now=at(w.day, "18:00"))
    db.session.commit()
    first = db.session.scalar(select(Document).where(Document.kind == DocumentKind.ATTENDANCE_SHEET))
    # The OPCO asks for a correction (its side is built elsewhere): session and enrolments reopen.
    session = sessions.transition(w.session, "request_correction", None, reason="Heures de Martin à revoir")
    for e in w.enrolments:
        enrolment_states.transition(db.session.get(Enrolment, e.id), "reopen", None)
    db.session.commit()
    line = db.session.scalar(
        select(Attendance).where(Attendance.enrolment_id == w.enrolments[2].id, Attendance.slot_id == w.pm.id)
    )
    attendance_marks.amend(session, w.pm, MarkInput(line.id, "late", 60), "Départ à 16h00 oublié", w.trainer)
    assert db.session.get(Enrolment, w.enrolments[2].id).status == S.PARTIALLY_ATTENDED
    delivery.close_session(session, w.trainer, now=at(w.day + timedelta(days=3), "10:00"))
    db.session.commit()
    second = db.session.scalar(
        select(Document).where(Document.kind == DocumentKind.ATTENDANCE_SHEET, Document.id != first.id)
    )
    assert db.session.get(Document, first.id).superseded_by_id == second.id
    assert db.session.get(Enrolment, w.enrolments[2].id).attended_minutes == 360


# --- The waiting list and the OPCO's pending decisions when the session starts and closes -------------------


def _small_session(make, *, requires_approval=False, capacity_max=2):
    trainer = make.user(email="formateur@of.test", full_name="Paul Formateur")
    provider = make.provider(admin=trainer, name="Formations de Loire")
    action = make.action(
        make.opco("akto"),
        title="Habilitation électrique",
        duration_hours="7",
        requires_approval=requires_approval,
    )
    day = paris_today() + timedelta(days=30)
    session = make.session(action, provider, start=day, days=1, status="open", capacity_max=capacity_max)
    company = make.company(name="Électricité du Forez")
    hr = make.user(email="rh@forez.test")
    return trainer, session, company, hr, day


def test_the_start_of_the_session_closes_its_waiting_list_and_tells_the_company(make, outbox):
    trainer, session, company, hr, day = _small_session(make)
    people = [
        make.employee(company, last_name=n, first_name="A") for n in ("Aubert", "Blanc", "Colin", "Dupuy")
    ]
    first, second, third, fourth = (make.enrolment(session, company, p, actor=hr) for p in people)
    assert (third.status, fourth.status) == (S.WAITLISTED, S.WAITLISTED)
    enrolments.cancel(db.session.get(Enrolment, second.id), hr)  # the freed seat is offered to the third
    session = db.session.get(TrainingSession, session.id)
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    assert db.session.get(Enrolment, third.id).status == S.OFFERED

    w = World(session, trainer, [first], day)
    _open(w, w.am)

    status = {e.id: db.session.get(Enrolment, e.id).status for e in (first, second, third, fourth)}
    assert status == {
        first.id: S.IN_TRAINING,
        second.id: S.CANCELLED,
        third.id: S.WAITLIST_CLOSED,
        fourth.id: S.WAITLIST_CLOSED,
    }
    assert db.session.get(Enrolment, third.id).offer_expires_at is None
    assert db.session.get(TrainingSession, session.id).seats_held == 1
    told = [m for m in outbox("rh@forez.test") if m.template == "enrolment_waitlist_closed"]
    assert len(told) == 2 and "Colin" in told[0].body_text + told[1].body_text
    assert "liste d'attente est close" in told[0].body_text
    assert S.LABELS[S.WAITLIST_CLOSED] == "Liste d'attente close (session commencée)"
    # Nobody is offered a seat any more, and the same employee may be enrolled on another session.
    assert waitlist.offer_free_seats(db.session.get(TrainingSession, session.id), None) == 0


def test_closing_waits_for_the_opcos_decision_on_pending_enrolments(make):
    trainer, session, company, hr, day = _small_session(make, requires_approval=True, capacity_max=3)
    opco_user = make.user(email="conseillere@akto.test")
    kept = make.enrolment(
        session, company, make.employee(company, last_name="Aubert", first_name="Lou"), actor=hr
    )
    pending = make.enrolment(
        session, company, make.employee(company, last_name="Blanc", first_name="Noé"), actor=hr
    )
    assert pending.status == S.PENDING_APPROVAL
    enrolments.approve(db.session.get(Enrolment, kept.id), opco_user, session.opco_id)
    session = db.session.get(TrainingSession, session.id)
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    w = World(session, trainer, [kept], day)
    _full_half_day(w, w.am)
    _full_half_day(w, w.pm)

    with pytest.raises(
        DomainError,
        match=r"1 inscription attend encore la décision .* \(Noé Blanc\)\. L.OPCO doit la valider ou la refuser",
    ):
        delivery.close_session(w.session, trainer, now=at(day, "18:00"))
    db.session.rollback()
    assert db.session.get(TrainingSession, session.id).status == SessionStatus.IN_PROGRESS  # nothing kept
    assert db.session.get(Enrolment, kept.id).status == S.ATTENDED

    enrolments.refuse(db.session.get(Enrolment, pending.id), opco_user, session.opco_id, "Hors budget")
    db.session.commit()
    delivery.close_session(w.session, trainer, now=at(day, "18:00"))
    db.session.commit()
    assert db.session.get(Enrolment, kept.id).status == S.CLOSED


def test_an_enrolment_approved_during_the_session_joins_the_open_half_day_not_the_attested_one(make):
    trainer, session, company, hr, day = _small_session(make, requires_approval=True, capacity_max=3)
    opco_user = make.user(email="conseillere@akto.test")
    kept = make.enrolment(
        session, company, make.employee(company, last_name="Aubert", first_name="Lou"), actor=hr
    )
    late = make.enrolment(
        session, company, make.employee(company, last_name="Blanc", first_name="Noé"), actor=hr
    )
    enrolments.approve(db.session.get(Enrolment, kept.id), opco_user, session.opco_id)
    session = db.session.get(TrainingSession, session.id)
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    w = World(session, trainer, [kept], day)
    _full_half_day(w, w.am)
    _open(w, w.pm)

    enrolments.approve(db.session.get(Enrolment, late.id), opco_user, session.opco_id)  # at lunch time
    db.session.commit()

    assert db.session.get(Enrolment, late.id).status == S.IN_TRAINING
    on_sheet = {
        slot: {
            r.enrolment_id for r in db.session.scalars(select(Attendance).where(Attendance.slot_id == slot))
        }
        for slot in (w.am.id, w.pm.id)
    }
    assert on_sheet == {w.am.id: {kept.id}, w.pm.id: {kept.id, late.id}}  # the signed morning stays as signed
    rows = _open(w, w.pm)  # opening again changes nothing
    assert set(rows) == {kept.id, late.id}
    for row in rows.values():
        _sign(row, at(day, w.pm.start_time.strftime("%H:%M")) + timedelta(minutes=1))
    _attest(w, w.pm, at(day, w.pm.end_time.strftime("%H:%M")))
    delivery.close_session(w.session, trainer, now=at(day, "18:00"))
    db.session.commit()
    closed = db.session.get(Enrolment, late.id)
    assert (closed.status, closed.outcome) == (S.CLOSED, S.PARTIALLY_ATTENDED)
    assert closed.attended_minutes == attendance.slot_minutes(w.pm) < closed.planned_minutes


def test_an_enrolment_of_a_delivered_session_can_no_longer_be_approved(make):
    trainer, session, company, hr, day = _small_session(make, requires_approval=True)
    pending = make.enrolment(session, company, make.employee(company), actor=hr)
    session = db.session.get(TrainingSession, session.id)
    session.status = SessionStatus.DELIVERED  # closed before the rule above existed
    db.session.commit()
    with pytest.raises(DomainError, match="ne peut plus être validée"):
        enrolments.approve(db.session.get(Enrolment, pending.id), make.user(), session.opco_id)
    db.session.rollback()
    assert db.session.get(Enrolment, pending.id).status == S.PENDING_APPROVAL
