"""Proof of a half-day other than e-signatures: a scanned paper sheet (PDF) or, for a distance session, the
virtual classroom's connection export (CSV).

Either is stored as a document (``paper_sheet`` / ``connection_log``, with its SHA-256) and locks the half-day
like the trainer's attestation. A paper sheet needs every trainee's presence marked first (as read on the
sheet). A connection export marks present every trainee it names (email, or « Nom Prénom » in either order)
who has no presence yet and absent the others still unmarked: the organisation checks and amends after.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Attendance,
    AttendanceStatus,
    DocumentKind,
    SessionSlot,
    SignMethod,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.services import audit, documents, retention, storage
from marketplace.services.attendance import slot_name
from marketplace.services.attendance_marks import check_started, open_record, outcomes
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_session

A = AttendanceStatus
KINDS = {
    DocumentKind.PAPER_SHEET: "feuille papier scannée",
    DocumentKind.CONNECTION_LOG: "relevé de connexions",
}


def _fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(ascii_text.replace(",", " ").replace(";", " ").split())


def check_connection_log(filename: str, data: bytes) -> tuple[str, str]:
    """A CSV export, text, under the upload limit; returns (safe name, decoded text)."""
    name = storage.safe_filename(filename)
    if os.path.splitext(name)[1].lower() != ".csv":
        raise DomainError(
            f"Le fichier « {name} » n'est pas accepté : déposez l'export CSV de la classe virtuelle.",
            field="file",
        )
    if not data:
        raise DomainError(f"Le fichier « {name} » est vide.", field="file")
    if len(data) > storage.max_bytes():
        raise DomainError(
            f"Le fichier « {name} » dépasse la taille maximale de {storage.max_bytes() // (1024 * 1024)} Mo.",
            field="file",
        )
    if b"\x00" in data:
        raise DomainError(f"Le fichier « {name} » n'est pas un fichier CSV lisible.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return name, text


def names_in_log(text: str) -> set[str]:
    """Every cell and pair of neighbouring cells of the export, folded (accents, case, spaces)."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    found: set[str] = set()
    for row in csv.reader(io.StringIO(text), dialect):
        cells = [_fold(c) for c in row if c.strip()]
        found.update(cells)
        found.update(f"{a} {b}" for a, b in zip(cells, cells[1:], strict=False))
    return found


def _appears(row: Attendance, found: set[str]) -> bool:
    employee = row.enrolment.employee
    keys = {
        _fold(f"{employee.last_name} {employee.first_name}"),
        _fold(f"{employee.first_name} {employee.last_name}"),
    }
    if employee.email:
        keys.add(_fold(employee.email))
    return bool(keys & found)


def upload_proof(
    session: TrainingSession,
    slot: SessionSlot,
    kind: str,
    filename: str,
    data: bytes,
    actor: User,
    *,
    now: datetime | None = None,
):
    """Store the proof of the half-day and lock it; returns the document."""
    now = now or utcnow()
    if kind not in KINDS:
        raise DomainError(
            "Choisissez le type de preuve : feuille papier scannée ou relevé de connexions.", field="kind"
        )
    session = lock_session(session.id)
    record = open_record(session, slot)
    if record.is_locked:
        raise DomainError(
            f"La demi-journée ({slot_name(slot)}) est déjà attestée : la preuve est enregistrée."
        )
    check_started(slot, now, "déposer sa preuve")
    rows = list(
        db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id).order_by(Attendance.id))
    )
    if kind == DocumentKind.PAPER_SHEET:
        name, _extension, content_type = storage.check_upload(filename, data)
        if content_type != "application/pdf":
            raise DomainError(
                f"Le fichier « {name} » n'est pas accepté : déposez le scan en PDF.", field="file"
            )
        unmarked = [r.enrolment.employee.display_name for r in rows if r.status is None]
        if unmarked:
            raise DomainError(
                f"Indiquez d'abord la présence de chaque stagiaire d'après la feuille : {', '.join(unmarked)}.",
                field="file",
            )
        method = SignMethod.PAPER
    else:
        if not session.is_remote:
            raise DomainError("Un relevé de connexions ne prouve qu'une session à distance.", field="kind")
        name, text = check_connection_log(filename, data)
        content_type = "text/csv"
        found = names_in_log(text)
        for row in rows:
            if row.status is None:
                row.status = A.PRESENT if _appears(row, found) else A.ABSENT
                row.updated_at = now
        method = SignMethod.CONNECTION_LOG
    for row in rows:  # the proof of each attending trainee is the document
        if row.status in A.ATTENDING and row.signed_at is None:
            row.sign_method = method
    document = documents.issue(
        kind,
        data,
        filename=name,
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        slot_id=slot.id,
        content_type=content_type,
        created_by=actor,
        purge_after=retention.purge_after(session),
    )
    record.proof_document_id = document.id
    record.method = method
    audit.record(
        "attendance.proof_uploaded",
        organisation_id=session.provider_id,
        actor=actor,
        obj=session,
        data={"slot": slot.id, "kind": kind, "document": document.id, "sha256": document.sha256},
    )
    db.session.flush()
    outcomes(session, actor)
    return document
