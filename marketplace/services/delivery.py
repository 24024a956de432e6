"""Outcomes from the attendance and closing a session (« service fait », training organisation side).

Hours: for each half-day, a trainee present counts the half-day's minutes, late or left early its minutes
less those missed, absent (excused or not) none; the sum is capped at the planned minutes (the session's
half-days). Outcome: an abandonment declared by the organisation stays; otherwise every half-day attended
in full → attended, no presence at all → absent_excused when every absence is excused else absent, anything
between → partially_attended.

Closing (:func:`close_session`) under the session lock: the session must be completed — an in-progress
session whose last day has come is completed first (``complete`` then ``deliver``, the session machine's
order) — and every half-day attested by the trainer or proven by a document. Then, on each trainee's
enrolment, the outcome, planned and attended minutes and ``closed_at`` are frozen and the enrolment moves to
closed; the session moves to delivered; the feuille d'émargement PDF is issued (a previous one, from before
an OPCO's correction request, is superseded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_today, plural
from marketplace.models import (
    Attendance,
    AttendanceStatus,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    HalfDayAttestation,
    SessionStatus,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.models.limits import REASON
from marketplace.services import (
    attendance_sheet,
    certificates,
    documents,
    enrolment_states,
    retention,
    sessions,
    surveys,
)
from marketplace.services.attendance import slot_minutes
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_session

A = AttendanceStatus
S = EnrolmentStatus
# Enrolments whose outcome is decided at closing (on the sheet, not closed yet).
TO_CLOSE = (S.CONFIRMED, S.CONVOKED, S.IN_TRAINING, *S.OUTCOMES)
OUTCOME_EVENT = {
    S.ATTENDED: "attended",
    S.PARTIALLY_ATTENDED: "partially_attended",
    S.ABSENT_EXCUSED: "absent_excused",
    S.ABSENT: "absent",
}


@dataclass
class Figures:
    planned_minutes: int
    attended_minutes: int
    outcome: str
    absent_half_days: int = 0


def planned_minutes(session: TrainingSession) -> int:
    return sum(slot_minutes(s) for s in session.slots)


def figures(enrolment: Enrolment, rows: list[Attendance], planned: int) -> Figures:
    """Attended minutes (capped) and outcome of one trainee, from their half-day lines."""
    attended, any_presence, full, absences, excused = 0, False, True, 0, True
    by_slot = {r.slot_id: r for r in rows}
    for slot in enrolment.session.slots:
        row = by_slot.get(slot.id)
        status = row.status if row else None
        if status in A.ATTENDING:
            attended += slot_minutes(slot) - (row.minutes_missed if status == A.LATE else 0)
            any_presence = True
            full = full and status == A.PRESENT
        else:
            full = False
            absences += 1
            excused = excused and status == A.EXCUSED
    attended = max(0, min(attended, planned))
    if enrolment.status == S.ABANDONED:
        outcome = S.ABANDONED
    elif full:
        outcome = S.ATTENDED
    elif not any_presence:
        outcome = S.ABSENT_EXCUSED if excused else S.ABSENT
    else:
        outcome = S.PARTIALLY_ATTENDED
    return Figures(planned, attended, outcome, absences)


def session_figures(session: TrainingSession) -> dict[int, Figures]:
    """Enrolment id → figures, for every trainee still to close (used by the pages and by closing)."""
    planned = planned_minutes(session)
    rows: dict[int, list[Attendance]] = {}
    for row in db.session.scalars(select(Attendance).where(Attendance.session_id == session.id)):
        rows.setdefault(row.enrolment_id, []).append(row)
    trainees = db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(TO_CLOSE))
    )
    return {e.id: figures(e, rows.get(e.id, []), planned) for e in trainees}


def unproven_slots(session: TrainingSession) -> list:
    """The session's half-days neither attested by the trainer nor proven by a document."""
    locked = {
        r.slot_id
        for r in db.session.scalars(
            select(HalfDayAttestation).where(HalfDayAttestation.session_id == session.id)
        )
        if r.is_locked
    }
    return [s for s in session.slots if s.id not in locked]


def apply_outcomes(session: TrainingSession, actor: User | None) -> int:
    """Once every half-day is attested or proven, each trainee in training takes the outcome its attendance
    gives (the company sees « Réalisée (partielle) »… before the service fait); an amendment moves it again.
    Returns how many enrolments moved. The caller holds the session lock."""
    if unproven_slots(session):
        return 0
    moved = 0
    for enrolment_id, result in session_figures(session).items():
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment.status in (S.IN_TRAINING, *S.OUTCOMES) and enrolment.status != result.outcome:
            enrolment_states.transition(
                enrolment, OUTCOME_EVENT[result.outcome], actor, actor_org_id=session.provider_id
            )
            moved += 1
    return moved


def declare_abandon(
    session: TrainingSession, enrolment_id: int | None, reason: str | None, actor: User
) -> Enrolment:
    """The organisation declares that a trainee of this session abandoned the training (reason required)."""
    session = lock_session(session.id)
    enrolment = db.session.scalar(
        select(Enrolment).where(Enrolment.id == enrolment_id, Enrolment.session_id == session.id)
    )
    if enrolment is None:
        raise DomainError("Choisissez un stagiaire de cette session.", field="enrolment_id")
    if session.status not in (SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED):
        raise DomainError(
            "Un abandon se déclare pendant la session (en cours ou réalisée, avant sa clôture)."
        )
    why = " ".join((reason or "").split())
    if len(why) < 3:
        raise DomainError("Indiquez le motif de l'abandon.", field="reason")
    if len(why) > REASON:
        raise DomainError(f"Le motif ne doit pas dépasser {REASON} caractères.", field="reason")
    if enrolment.status in (S.CONFIRMED, S.CONVOKED):
        enrolment_states.transition(enrolment, "start_training", actor, actor_org_id=enrolment.provider_id)
    enrolment_states.transition(enrolment, "abandon", actor, actor_org_id=enrolment.provider_id, reason=why)
    db.session.flush()
    return enrolment


def close_session(session: TrainingSession, actor: User, *, now: datetime | None = None) -> TrainingSession:
    """Service fait: freeze each trainee's outcome and hours, close the enrolments, deliver the session."""
    now = now or utcnow()
    session = lock_session(session.id)
    if session.status == SessionStatus.DELIVERED:
        raise DomainError("La session est déjà clôturée (service fait).")
    if session.status == SessionStatus.IN_PROGRESS:
        if paris_today(now) < session.end_date:
            raise DomainError(
                f"La session se termine le {date_fr(session.end_date)} : vous pourrez la clôturer ce jour-là."
            )
        sessions.transition(session, "complete", actor, now=now)
    if session.status != SessionStatus.COMPLETED:
        raise DomainError(
            f"Une session « {session.status_label} » ne peut pas être clôturée : seules les sessions en cours "
            "ou réalisées le sont."
        )
    missing = unproven_slots(session)
    if missing:
        names = ", ".join(f"{s.half_day_label.lower()} du {date_fr(s.day)}" for s in missing)
        raise DomainError(
            f"La session ne peut pas être clôturée : demi-journée(s) non attestée(s) par le formateur ni prouvée(s) "
            f"par une feuille scannée ou un relevé de connexions : {names}."
        )
    _check_no_pending_approval(session)
    for enrolment_id, result in session_figures(session).items():
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment.status in (S.CONFIRMED, S.CONVOKED):
            enrolment_states.transition(enrolment, "start_training", actor, actor_org_id=session.provider_id)
        if enrolment.status != result.outcome:
            enrolment_states.transition(
                enrolment, OUTCOME_EVENT[result.outcome], actor, actor_org_id=session.provider_id
            )
        enrolment.outcome = result.outcome
        enrolment.planned_minutes = result.planned_minutes
        enrolment.attended_minutes = result.attended_minutes
        enrolment.closed_at = now
        # The reason of an abandonment stays on the closed enrolment (the certificate and the OPCO read it).
        keep = enrolment.status_reason if result.outcome == S.ABANDONED else None
        enrolment_states.transition(enrolment, "close", actor, actor_org_id=session.provider_id, reason=keep)
    sessions.transition(session, "deliver", actor, now=now)
    session.delivered_at = now
    db.session.flush()
    issue_sheet(session, actor)
    certificates.after_delivery(session)  # certificates and attestations, in a job after the commit
    surveys.after_closing(session, now)  # the « à chaud » questionnaire, with the closing
    return session


def _check_no_pending_approval(session: TrainingSession) -> None:
    """The service fait freezes who was funded: an enrolment still awaiting the OPCO's decision has neither a
    confirmed funding nor a refusal, so the OPCO decides first (it may still approve during the session: the
    trainee then joins the sheets still open, see attendance.join_in_progress)."""
    pending = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == S.PENDING_APPROVAL)
        .order_by(Enrolment.id)
    ).all()
    if pending:
        names = ", ".join(e.employee.full_name for e in pending)
        raise DomainError(
            f"La session ne peut pas être clôturée : {plural(len(pending), 'inscription')} "
            f"{'attendent' if len(pending) > 1 else 'attend'} encore la décision de prise en charge de l'OPCO "
            f"({names}). L'OPCO doit {'les' if len(pending) > 1 else 'la'} valider ou "
            f"{'les' if len(pending) > 1 else 'la'} refuser avant la clôture."
        )


def issue_sheet(session: TrainingSession, actor: User | None) -> Document:
    """Render and store the feuille d'émargement; a previous one is superseded by it."""
    data = attendance_sheet.render(session)
    previous = db.session.scalars(
        select(Document).where(
            Document.session_id == session.id,
            Document.kind == DocumentKind.ATTENDANCE_SHEET,
            Document.superseded_by_id.is_(None),
        )
    ).all()
    document = documents.issue(
        DocumentKind.ATTENDANCE_SHEET,
        data,
        filename=attendance_sheet.filename(session),
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        created_by=actor,
        purge_after=retention.purge_after(session),
    )
    for old in previous:
        documents.supersede(old, document)
    db.session.flush()
    return document
