"""The feuille d'émargement of a session (PDF): one column per half-day, one line per trainee, the drawn
signatures as images with their times, the trainer's attestation of each half-day, the action's title and
the organisation's NDA. Rendered from ``templates/pdf/attendance_sheet.html`` (A4 landscape, at most
``COLUMNS`` half-days per table so the signatures stay legible).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import utc_to_paris
from marketplace.models import (
    Attendance,
    AttendanceStatus,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionSlot,
    SignMethod,
    TrainingSession,
)
from marketplace.services import documents

COLUMNS = 4
A = AttendanceStatus


def _png_uri(data: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(data).decode() if data else None


def _hm(value) -> str:
    local = utc_to_paris(value)
    return f"{local:%H}h{local:%M}"


@dataclass
class Cell:
    text: str = ""
    image: str | None = None
    time: str = ""


@dataclass
class Line:
    name: str
    company: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Block:
    slots: list[SessionSlot]
    lines: list[Line]
    trainer: list[Cell]


def _cell(row: Attendance | None) -> Cell:
    if row is None:
        return Cell("—")
    if row.status == A.ABSENT:
        return Cell("Absent(e)")
    if row.status == A.EXCUSED:
        return Cell(f"Absence justifiée : {row.excuse_reason or ''}")
    late = f"Retard / départ anticipé : {row.minutes_missed} min" if row.status == A.LATE else ""
    if row.signed_at is not None:
        text = (
            "Je certifie être présent(e) — " + (row.signed_name or "")
            if row.sign_method == SignMethod.CHECKBOX
            else ""
        )
        return Cell(
            " ".join(t for t in (text, late) if t),
            _png_uri(row.signature_png),
            f"signé à {_hm(row.signed_at)}",
        )
    if row.status in A.ATTENDING:
        via = SignMethod.LABELS.get(row.sign_method or "", "présent(e)")
        return Cell(" ".join(t for t in (f"Présent(e) ({via})", late) if t))
    return Cell("Non renseigné")


def sheet(session: TrainingSession) -> list[Block]:
    rows = {
        (r.enrolment_id, r.slot_id): r
        for r in db.session.scalars(select(Attendance).where(Attendance.session_id == session.id))
    }
    records = {
        r.slot_id: r
        for r in db.session.scalars(
            select(HalfDayAttestation).where(HalfDayAttestation.session_id == session.id)
        )
    }
    trainees = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.session_id == session.id, Enrolment.status.in_(EnrolmentStatus.TRAINEES))
            .order_by(Enrolment.id)
        )
    )
    trainees.sort(key=lambda e: e.employee.display_name.lower())
    slots = list(session.slots)
    blocks = []
    for start in range(0, max(len(slots), 1), COLUMNS):
        chunk = slots[start : start + COLUMNS]
        lines = [
            Line(e.employee.display_name, e.company.name, [_cell(rows.get((e.id, s.id))) for s in chunk])
            for e in trainees
        ]
        trainer = []
        for s in chunk:
            record = records.get(s.id)
            if record and record.attested_at:
                trainer.append(
                    Cell(
                        record.trainer_name,
                        _png_uri(record.signature_png),
                        f"attesté à {_hm(record.attested_at)}",
                    )
                )
            elif record and record.proof_document_id:
                trainer.append(Cell(SignMethod.LABELS.get(record.method or "", "Preuve déposée")))
            else:
                trainer.append(Cell("Non attestée"))
        blocks.append(Block(chunk, lines, trainer))
    return blocks


def filename(session: TrainingSession) -> str:
    return f"feuille-emargement-session-{session.id}.pdf"


def render(session: TrainingSession) -> bytes:
    return documents.render_pdf("pdf/attendance_sheet.html", session=session, blocks=sheet(session))
