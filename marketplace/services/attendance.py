"""Attendance per trainee × half-day: opening a half-day (a line and a personal signing link per trainee) and
the trainee's signature. The organisation's marks, the trainer's attestation (the lock) and amendments after it
are in services.attendance_marks.

Signing window (trainee): from ``SIGN_OPENS_BEFORE`` (15 minutes) before the half-day's start, to arrive and
sign, until the end of that day in Paris (23:59): a trainee who forgot to sign at the break can still do it
the same evening, never the next day nor before the half-day.

Every signature keeps its proof: time, method, IP address, user agent, the drawn PNG (size-bounded, checked to
be a PNG) and a SHA-256 of all of it (``proof_hash``), so a later change to any of them shows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_to_utc, paris_today, utc_to_paris
from marketplace.models import (
    Attendance,
    AttendanceStatus,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionSlot,
    SessionStatus,
    SignMethod,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.models.attendance import USER_AGENT
from marketplace.models.limits import FULL_NAME
from marketplace.services import audit, enrolment_states, sessions
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_row, lock_session
from marketplace.services.signature_proofs import attendance_proof_hash, check_signature_png, clip

A = AttendanceStatus
SIGN_OPENS_BEFORE = timedelta(minutes=15)
# Sessions whose half-days can be opened and signed.
RUNNING = (SessionStatus.CONFIRMED, SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED)
# Trainees who get a line on a newly opened half-day (not those who abandoned or whose file is closed).
EXPECTED = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.CONVOKED, EnrolmentStatus.IN_TRAINING)


# --- Times ----------------------------------------------------------------------------------------------


def slot_start(slot: SessionSlot) -> datetime:
    """The half-day's start, naive UTC."""
    return paris_to_utc(datetime.combine(slot.day, slot.start_time))


def slot_end(slot: SessionSlot) -> datetime:
    return paris_to_utc(datetime.combine(slot.day, slot.end_time))


def slot_minutes(slot: SessionSlot) -> int:
    return (
        datetime.combine(slot.day, slot.end_time) - datetime.combine(slot.day, slot.start_time)
    ).seconds // 60


def sign_window(slot: SessionSlot) -> tuple[datetime, datetime]:
    """When a trainee may sign, naive UTC: 15 minutes before the start until the end of the day in Paris."""
    day_end = paris_to_utc(datetime.combine(slot.day + timedelta(days=1), datetime.min.time()))
    return slot_start(slot) - SIGN_OPENS_BEFORE, day_end


def slot_name(slot: SessionSlot) -> str:
    return f"{slot.half_day_label.lower()} du {date_fr(slot.day)}"


def hm(value: datetime) -> str:
    local = utc_to_paris(value)
    return f"{local:%H}h{local:%M}"


# --- Opening a half-day ---------------------------------------------------------------------------------


def slot_of(session: TrainingSession, slot_id: int) -> SessionSlot | None:
    """The half-day ``slot_id`` of this session (None for another session's)."""
    return db.session.scalar(
        select(SessionSlot).where(SessionSlot.id == slot_id, SessionSlot.session_id == session.id)
    )


def attestation_of(slot: SessionSlot) -> HalfDayAttestation | None:
    return db.session.scalar(select(HalfDayAttestation).where(HalfDayAttestation.slot_id == slot.id))


def open_half_day(
    session: TrainingSession, slot: SessionSlot, actor: User, *, now: datetime | None = None
) -> HalfDayAttestation:
    """Open the half-day for signing: a line and a personal link per trainee.

    Not before its day. The first opening starts the session (confirmed → in progress) and the training of
    each trainee (confirmed | convoked → in training). Opening again adds the trainees still missing.
    """
    now = now or utcnow()
    session = lock_session(session.id)
    if session.status not in RUNNING:
        raise DomainError(
            f"Une session « {session.status_label} » ne peut pas être émargée : seules les sessions confirmées "
            "ou en cours le sont."
        )
    if paris_today(now) < slot.day:
        raise DomainError(
            f"La demi-journée du {date_fr(slot.day)} n'a pas commencé : vous pourrez l'ouvrir ce jour-là."
        )
    if session.status == SessionStatus.CONFIRMED:
        sessions.transition(session, "start", actor, now=now)
    record = attestation_of(slot)
    if record is None:
        record = HalfDayAttestation(
            provider_id=session.provider_id,
            session_id=session.id,
            slot_id=slot.id,
            opened_at=now,
            opened_by_id=actor.id,
        )
        db.session.add(record)
        audit.record(
            "attendance.opened",
            organisation_id=session.provider_id,
            actor=actor,
            obj=session,
            data={"slot": slot.id, "day": slot.day.isoformat(), "half_day": slot.half_day},
        )
    if record.is_locked:
        return record
    start_training(session, actor)
    present = set(db.session.scalars(select(Attendance.enrolment_id).where(Attendance.slot_id == slot.id)))
    for enrolment in _trainees(session, EXPECTED):
        if enrolment.id not in present:
            _add_line(record, enrolment)
    db.session.flush()
    return record


def _add_line(record: HalfDayAttestation, enrolment: Enrolment) -> None:
    """The trainee's line on the half-day's sheet, with the personal signing link."""
    db.session.add(
        Attendance(
            provider_id=record.provider_id,
            session_id=record.session_id,
            slot_id=record.slot_id,
            enrolment_id=enrolment.id,
            sign_token=secrets.token_urlsafe(32),
        )
    )


def _trainees(session: TrainingSession, statuses) -> list[Enrolment]:
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.session_id == session.id, Enrolment.status.in_(statuses))
            .order_by(Enrolment.id)
        )
    )


def join_in_progress(enrolment: Enrolment, actor: User, actor_org_id: int) -> None:
    """The OPCO approves the funding once the session has started (caller holds the session lock): the trainee
    is in training at once and on the sheet of every half-day still open for signing. The half-days attested
    before stay as they were signed, without them: no signature, no proof of presence."""
    enrolment_states.transition(enrolment, "start_training", actor, actor_org_id=actor_org_id)
    open_records = db.session.scalars(
        select(HalfDayAttestation).where(
            HalfDayAttestation.session_id == enrolment.session_id,
            HalfDayAttestation.attested_at.is_(None),
            HalfDayAttestation.proof_document_id.is_(None),
        )
    )
    for record in open_records:
        _add_line(record, enrolment)
    db.session.flush()


def start_training(session: TrainingSession, actor: User | None) -> None:
    """Confirmed or convoked trainees are now in training (caller holds the session lock)."""
    for enrolment in _trainees(session, (EnrolmentStatus.CONFIRMED, EnrolmentStatus.CONVOKED)):
        enrolment_states.transition(enrolment, "start_training", actor, actor_org_id=session.provider_id)


# --- The trainee signs ----------------------------------------------------------------------------------


def by_token(token: str) -> Attendance | None:
    """The line a personal link points to (None for an unknown or malformed token)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Attendance).where(Attendance.sign_token == token))


def sign_refusal(row: Attendance, now: datetime) -> str | None:
    """Why this trainee cannot sign now, in French (None: the page shows the signing form)."""
    slot = row.slot
    opens, closes = sign_window(slot)
    record = attestation_of(slot)
    if row.signed_at is not None:
        return f"Vous avez signé cette demi-journée le {date_fr(row.signed_at)} à {hm(row.signed_at)}. Merci."
    if record is not None and record.is_locked:
        return "Le formateur a déjà attesté cette demi-journée : la signature est close."
    if row.enrolment.status != EnrolmentStatus.IN_TRAINING:
        return "Votre inscription ne permet plus de signer pour cette session."
    if now < opens:
        return f"La signature ouvrira le {date_fr(slot.day)} à {hm(opens)}, au début de la demi-journée."
    if now >= closes:
        return f"La signature de la demi-journée du {date_fr(slot.day)} est close (elle l'était à minuit)."
    return None


@dataclass
class SignatureInput:
    method: str  # of_device | link | qr (how the page was reached), checkbox when not drawn
    signature: str | bytes | None = None  # PNG data URL drawn on the canvas
    certified: bool = False
    typed_name: str = ""
    ip_address: str | None = None
    user_agent: str | None = None


def sign(row: Attendance, data: SignatureInput, *, now: datetime | None = None) -> Attendance:
    """The trainee signs their half-day: a drawn signature, or the certification with the typed name."""
    now = now or utcnow()
    lock_row(Attendance.__table__, row.id)
    db.session.refresh(row)
    refusal = sign_refusal(row, now)
    if refusal:
        raise DomainError(refusal)
    image = check_signature_png(data.signature)
    typed = " ".join((data.typed_name or "").split())
    method = (
        data.method
        if data.method in (SignMethod.OF_DEVICE, SignMethod.LINK, SignMethod.QR)
        else SignMethod.LINK
    )
    if image is None:
        if not data.certified or len(typed) < 2:
            raise DomainError(
                "Signez dans le cadre, ou cochez « Je certifie être présent(e) » et saisissez votre nom.",
                field="signature",
            )
        method = SignMethod.CHECKBOX
    if len(typed) > FULL_NAME:
        raise DomainError(f"Votre nom : {FULL_NAME} caractères au plus.", field="typed_name")
    row.signed_at = now
    row.sign_method = method
    row.signed_name = typed or row.enrolment.employee.display_name
    row.ip_address = clip(data.ip_address, 45)
    row.user_agent = clip(data.user_agent, USER_AGENT)
    row.signature_png = image
    if row.status in (None, A.ABSENT, A.EXCUSED):
        row.status, row.excuse_reason = A.PRESENT, None
    row.updated_at = now
    row.proof_sha256 = attendance_proof_hash(row)
    audit.record(
        "attendance.signed",
        organisation_id=row.provider_id,
        obj=row,
        data={
            "slot": row.slot_id,
            "enrolment": row.enrolment_id,
            "method": method,
            "proof": row.proof_sha256,
        },
    )
    db.session.flush()
    return row
