"""Attendance once a half-day has started, the organisation's side: marks (present, absent, late or left
early, excused), the trainer's attestation (the lock) and amendments after it. Opening the half-day and the
trainees' signatures are in services.attendance.

The trainer attests once the half-day has started, at any time after (the time is recorded; the sheet shows
it). Once attested — or proven by a scanned paper sheet or a connection export (``services.attendance_proofs``)
— the half-day is locked: a change is an amendment with its reason, kept in ``attendance_amendments`` and the
audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Attendance,
    AttendanceAmendment,
    AttendanceStatus,
    HalfDayAttestation,
    SessionSlot,
    SessionStatus,
    SignMethod,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.models.attendance import USER_AGENT
from marketplace.models.limits import FULL_NAME, REASON
from marketplace.services import audit, delivery
from marketplace.services.attendance import attestation_of, hm, slot_minutes, slot_name, slot_start
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_session
from marketplace.services.signature_proofs import attestation_proof_hash, check_signature_png, clip

A = AttendanceStatus


# --- The organisation marks, the trainer attests --------------------------------------------------------


@dataclass
class MarkInput:
    attendance_id: int
    status: str | None
    minutes_missed: int | None = None
    excuse_reason: str | None = None


def _lines(slot: SessionSlot) -> dict[int, Attendance]:
    return {
        a.id: a
        for a in db.session.scalars(
            select(Attendance).where(Attendance.slot_id == slot.id).order_by(Attendance.id)
        )
    }


def _check_mark(row: Attendance, mark: MarkInput) -> tuple[str | None, int, str | None]:
    """The cleaned (status, minutes missed, reason) of one mark, or a French refusal naming the trainee."""
    name = row.enrolment.employee.display_name
    status = mark.status or None
    if status is not None and status not in A.LABELS:
        raise DomainError(f"{name} : choisissez une présence dans la liste.")
    minutes = mark.minutes_missed or 0
    reason = " ".join((mark.excuse_reason or "").split()) or None
    if reason and len(reason) > REASON:
        raise DomainError(f"{name} : le motif ne doit pas dépasser {REASON} caractères.")
    if status == A.LATE:
        if not 0 < minutes < slot_minutes(row.slot):
            raise DomainError(
                f"{name} : indiquez les minutes manquées (retard ou départ anticipé), entre 1 et "
                f"{slot_minutes(row.slot) - 1}.",
            )
    else:
        minutes = 0
    if status == A.EXCUSED and not reason:
        raise DomainError(f"{name} : indiquez le motif de l'absence justifiée.")
    if status != A.EXCUSED:
        reason = None
    return status, minutes, reason


def check_started(slot: SessionSlot, now: datetime, what: str) -> None:
    if now < slot_start(slot):
        raise DomainError(
            f"La demi-journée ({slot_name(slot)}) commence à {hm(slot_start(slot))} : vous pourrez {what} "
            "à partir de là."
        )


def open_record(session: TrainingSession, slot: SessionSlot) -> HalfDayAttestation:
    record = attestation_of(slot)
    if record is None:
        raise DomainError(f"Ouvrez d'abord la demi-journée ({slot_name(slot)}).")
    if session.status == SessionStatus.DELIVERED:
        raise DomainError("La session est clôturée (service fait) : l'émargement ne peut plus changer.")
    return record


def mark(
    session: TrainingSession,
    slot: SessionSlot,
    marks: list[MarkInput],
    actor: User,
    *,
    now: datetime | None = None,
) -> int:
    """Record presences before the trainer's attestation; returns how many lines changed."""
    now = now or utcnow()
    session = lock_session(session.id)
    record = open_record(session, slot)
    if record.is_locked:
        raise DomainError(
            "Le formateur a attesté cette demi-journée : modifiez-la par une rectification motivée."
        )
    check_started(slot, now, "saisir les présences")
    lines = _lines(slot)
    changed = 0
    for item in marks:
        row = lines.get(item.attendance_id)
        if row is None:
            continue  # not a line of this half-day: ignored, never another tenant's
        status, minutes, reason = _check_mark(row, item)
        if (row.status, row.minutes_missed, row.excuse_reason) != (status, minutes, reason):
            row.status, row.minutes_missed, row.excuse_reason, row.updated_at = status, minutes, reason, now
            changed += 1
    if changed:
        audit.record(
            "attendance.marked",
            organisation_id=session.provider_id,
            actor=actor,
            obj=session,
            data={"slot": slot.id},
        )
    db.session.flush()
    return changed


@dataclass
class AttestInput:
    trainer_name: str
    signature: str | bytes | None = None
    marks: list[MarkInput] | None = None
    ip_address: str | None = None
    user_agent: str | None = None


def attest(
    session: TrainingSession,
    slot: SessionSlot,
    data: AttestInput,
    actor: User,
    *,
    now: datetime | None = None,
) -> HalfDayAttestation:
    """The trainer attests the whole half-day (after saving the marks sent with it) and locks it.

    Every trainee needs a presence; a trainee present or late needs their signature.
    """
    now = now or utcnow()
    if data.marks:
        mark(session, slot, data.marks, actor, now=now)
    session = lock_session(session.id)
    record = open_record(session, slot)
    if record.is_locked:
        raise DomainError("Cette demi-journée est déjà attestée.")
    check_started(slot, now, "attester la demi-journée")
    name = " ".join((data.trainer_name or "").split())
    if len(name) < 2:
        raise DomainError("Indiquez le nom du formateur qui atteste la demi-journée.", field="trainer_name")
    if len(name) > FULL_NAME:
        raise DomainError(f"Nom du formateur : {FULL_NAME} caractères au plus.", field="trainer_name")
    unmarked, unsigned = [], []
    for row in _lines(slot).values():
        who = row.enrolment.employee.display_name
        if row.status is None:
            unmarked.append(who)
        elif row.status in A.ATTENDING and row.signed_at is None:
            unsigned.append(who)
    if unmarked:
        raise DomainError(f"Indiquez la présence de : {', '.join(unmarked)}.")
    if unsigned:
        raise DomainError(
            f"Pas encore de signature pour : {', '.join(unsigned)}. Faites-les signer (lien ou QR code) ou "
            "indiquez leur absence.",
        )
    record.attested_at = now
    record.attested_by_id = actor.id
    record.trainer_name = name
    record.method = SignMethod.PLATFORM
    record.ip_address = clip(data.ip_address, 45)
    record.user_agent = clip(data.user_agent, USER_AGENT)
    record.signature_png = check_signature_png(data.signature)
    db.session.flush()
    record.proof_sha256 = attestation_proof_hash(record)
    audit.record(
        "attendance.attested",
        organisation_id=session.provider_id,
        actor=actor,
        obj=session,
        data={"slot": slot.id, "trainer": name, "proof": record.proof_sha256},
    )
    db.session.flush()
    outcomes(session, actor)
    return record


def outcomes(session: TrainingSession, actor: User | None) -> None:
    delivery.apply_outcomes(session, actor)
    db.session.flush()


# --- After the lock: amendments --------------------------------------------------------------------------


def amend(
    session: TrainingSession,
    slot: SessionSlot,
    change: MarkInput,
    reason: str | None,
    actor: User,
    *,
    now: datetime | None = None,
) -> AttendanceAmendment:
    """Change one trainee's presence on a locked half-day, with the reason (kept and audited)."""
    now = now or utcnow()
    session = lock_session(session.id)
    record = open_record(session, slot)
    if not record.is_locked:
        raise DomainError(
            "Cette demi-journée n'est pas encore attestée : modifiez directement les présences."
        )
    row = _lines(slot).get(change.attendance_id)
    if row is None:
        raise DomainError("Choisissez un stagiaire de cette demi-journée.", field="attendance_id")
    why = " ".join((reason or "").split())
    if len(why) < 3:
        raise DomainError("Indiquez le motif de la rectification.", field="reason")
    if len(why) > REASON:
        raise DomainError(f"Le motif ne doit pas dépasser {REASON} caractères.", field="reason")
    status, minutes, excuse = _check_mark(row, change)
    if status is None:
        raise DomainError("Choisissez la présence rectifiée.", field="status")
    before = {"status": row.status, "minutes_missed": row.minutes_missed, "excuse_reason": row.excuse_reason}
    after = {"status": status, "minutes_missed": minutes, "excuse_reason": excuse}
    if before == after:
        raise DomainError("Rien ne change : la présence est déjà celle-ci.", field="status")
    row.status, row.minutes_missed, row.excuse_reason, row.updated_at = status, minutes, excuse, now
    amendment = AttendanceAmendment(
        provider_id=session.provider_id,
        session_id=session.id,
        attendance_id=row.id,
        actor_id=actor.id,
        reason=why,
        before=before,
        after=after,
    )
    db.session.add(amendment)
    audit.record(
        "attendance.amended",
        organisation_id=session.provider_id,
        actor=actor,
        obj=row,
        data={
            "slot": slot.id,
            "enrolment": row.enrolment_id,
            "reason": why,
            "before": before,
            "after": after,
        },
    )
    db.session.flush()
    outcomes(session, actor)
    return amendment
