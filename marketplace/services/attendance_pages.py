"""Read models of the attendance pages: a session's grid (trainees × half-days), one half-day (lines,
signing links and QR codes, amendments), the trainee's signing page and the sheet's PDF (issued or preview)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import segno
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Attendance,
    AttendanceAmendment,
    AttendanceStatus,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionSlot,
    SessionStatus,
    TrainingSession,
    utcnow,
)
from marketplace.services import attendance, attendance_sheet, delivery, documents

A = AttendanceStatus
BADGES = {A.PRESENT: "badge-ok", A.LATE: "badge-warning", A.ABSENT: "badge-error", A.EXCUSED: "badge-neutral"}


@dataclass
class SlotState:
    slot: SessionSlot
    record: HalfDayAttestation | None
    minutes: int

    @property
    def state(self) -> str:
        if self.record is None:
            return "Non ouverte"
        if self.record.attested_at is not None:
            return "Attestée"
        if self.record.proof_document_id is not None:
            return "Preuve déposée"
        return "Ouverte"


@dataclass
class GridLine:
    enrolment: Enrolment
    cells: list[Attendance | None]
    figures: delivery.Figures | None


@dataclass
class Overview:
    slots: list[SlotState]
    lines: list[GridLine]
    planned_minutes: int
    missing: list[SessionSlot]
    can_close: bool
    sheet: Document | None
    abandon_choices: list[tuple[int, str]] = field(default_factory=list)


def _records(session: TrainingSession) -> dict[int, HalfDayAttestation]:
    return {
        r.slot_id: r
        for r in db.session.scalars(
            select(HalfDayAttestation).where(HalfDayAttestation.session_id == session.id)
        )
    }


def issued_sheet(session: TrainingSession) -> Document | None:
    return db.session.scalar(
        select(Document).where(
            Document.session_id == session.id,
            Document.provider_id == session.provider_id,
            Document.kind == DocumentKind.ATTENDANCE_SHEET,
            Document.superseded_by_id.is_(None),
        )
    )


def overview(session: TrainingSession) -> Overview:
    records = _records(session)
    slots = [SlotState(s, records.get(s.id), attendance.slot_minutes(s)) for s in session.slots]
    rows = {
        (r.enrolment_id, r.slot_id): r
        for r in db.session.scalars(select(Attendance).where(Attendance.session_id == session.id))
    }
    trainees = list(
        db.session.scalars(
            select(Enrolment).where(
                Enrolment.session_id == session.id, Enrolment.status.in_(EnrolmentStatus.TRAINEES)
            )
        )
    )
    trainees.sort(key=lambda e: e.employee.display_name.lower())
    figures = delivery.session_figures(session)
    lines = [
        GridLine(e, [rows.get((e.id, s.id)) for s in session.slots], figures.get(e.id)) for e in trainees
    ]
    missing = delivery.unproven_slots(session)
    closable = session.status in (SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED)
    abandon = [
        (e.id, e.employee.display_name)
        for e in trainees
        if e.status in (EnrolmentStatus.CONFIRMED, EnrolmentStatus.CONVOKED, EnrolmentStatus.IN_TRAINING)
    ]
    return Overview(
        slots,
        lines,
        delivery.planned_minutes(session),
        missing,
        closable and not missing,
        issued_sheet(session),
        abandon,
    )


def line_choices(slot: SessionSlot) -> list[tuple[int, str]]:
    """The trainees of a half-day, for the amendment form (only this half-day's lines can be chosen)."""
    rows = db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id))
    return [(r.id, r.enrolment.employee.display_name) for r in rows]


def abandon_choices(session: TrainingSession) -> list[tuple[int, str]]:
    return overview(session).abandon_choices


@dataclass
class HalfDayLine:
    row: Attendance
    link: str
    device_link: str
    qr: str


@dataclass
class HalfDay:
    slot: SessionSlot
    record: HalfDayAttestation | None
    lines: list[HalfDayLine]
    amendments: list[AttendanceAmendment]
    proof: Document | None
    minutes: int
    can_open: bool
    started: bool
    sign_opens: datetime
    sign_closes: datetime

    @property
    def locked(self) -> bool:
        return bool(self.record and self.record.is_locked)


def half_day(
    session: TrainingSession,
    slot: SessionSlot,
    sign_url: Callable[[str, str], str],
    *,
    now: datetime | None = None,
) -> HalfDay:
    """One half-day: its lines with the personal link and QR code of each trainee, and its amendments."""
    now = now or utcnow()
    record = attendance.attestation_of(slot)
    rows = list(db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id)))
    rows.sort(key=lambda r: r.enrolment.employee.display_name.lower())
    lines = []
    for row in rows:
        qr_link = sign_url(row.sign_token, "qr")
        lines.append(
            HalfDayLine(
                row,
                sign_url(row.sign_token, "lien"),
                sign_url(row.sign_token, "appareil"),
                segno.make(qr_link, error="m").png_data_uri(scale=4, border=2),
            )
        )
    amendments = list(
        db.session.scalars(
            select(AttendanceAmendment)
            .join(Attendance, Attendance.id == AttendanceAmendment.attendance_id)
            .where(Attendance.slot_id == slot.id, AttendanceAmendment.session_id == session.id)
            .order_by(AttendanceAmendment.id)
        )
    )
    proof = (
        db.session.get(Document, record.proof_document_id) if record and record.proof_document_id else None
    )
    opens, closes = attendance.sign_window(slot)
    return HalfDay(
        slot,
        record,
        lines,
        amendments,
        proof,
        attendance.slot_minutes(slot),
        can_open=session.status in attendance.RUNNING and paris_today(now) >= slot.day,
        started=now >= attendance.slot_start(slot),
        sign_opens=opens,
        sign_closes=closes,
    )


@dataclass
class SigningPage:
    row: Attendance
    session: TrainingSession
    refusal: str | None


def signing_page(token: str, *, now: datetime | None = None) -> SigningPage | None:
    """What the trainee's link shows (None: unknown link, answered 404)."""
    row = attendance.by_token(token)
    if row is None:
        return None
    return SigningPage(row, row.enrolment.session, attendance.sign_refusal(row, now or utcnow()))


def sheet_pdf(session: TrainingSession) -> tuple[bytes, str]:
    """The issued feuille d'émargement (checked against its hash) once the session is closed, else a
    preview rendered now (nothing stored: a page never writes)."""
    document = issued_sheet(session)
    if document is not None:
        return documents.read(document), document.filename
    return attendance_sheet.render(session), "apercu-" + attendance_sheet.filename(session)


def proof_file(session: TrainingSession, proof_id: int) -> tuple[bytes, Document] | None:
    """An uploaded proof of one of this session's half-days (None for anything else: 404)."""
    document = db.session.scalar(
        select(Document).where(
            Document.id == proof_id,
            Document.session_id == session.id,
            Document.provider_id == session.provider_id,
            Document.kind.in_((DocumentKind.PAPER_SHEET, DocumentKind.CONNECTION_LOG)),
        )
    )
    return (documents.read(document), document) if document else None
