"""Convocations: the PDF each trainee receives before the training (C. trav. L6353-8), and when it goes out.

A convocation carries the trainee and the employer, the action (programme, objectives, assessment), every
half-day with its times, the place or the virtual classroom's link, the trainers, the contact of the person in
charge of the trainees and of the référent handicap, the organisation's identity and NDA, and the règlement
intérieur in annex. It is rendered once, stored as a ``Document`` (kind « convocation ») readable by the
organisation, the OPCO and the employer, and recorded in ``convocations`` with the schedule it was made for.

When: ``send_due(now)`` (run daily by the scheduler, or by hand with ``flask send-convocations``) convokes every
confirmed trainee of a session starting within the OPCO's ``convocation_days`` (21 by default), and convokes
again a trainee whose convocation no longer matches the session (postponed, new place or link: the new
document supersedes the old one). A trainee confirmed later than that is convoked at once, and a postponement
re-convokes at once: both ask for a job run after the commit (``after_confirmation``, ``after_schedule_change``),
so no PDF is rendered inside the enrolment's lock or the request's transaction. The organisation may also send
before the date (``send_early``).

Each run locks the session (``locking.lock_session``) and reads its enrolments again under the lock: two runs
at the same time convoke each trainee once (the second waits, then finds them convoked; if it waits too long it
leaves the session to the next run). The trainee gets an email with a personal download link (a random token
whose hash only is stored), the company's contacts an email with the link to the enrolment's page.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, event, false, inspect, or_, select
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Convocation,
    Document,
    DocumentKind,
    Employee,
    Enrolment,
    EnrolmentStatus,
    Opco,
    SessionStatus,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.services import (
    audit,
    documents,
    enrolment_notices,
    enrolment_states,
    jobs,
    outbox,
    retention,
)
from marketplace.services.errors import DomainError
from marketplace.services.locking import LockBusy, lock_session

log = logging.getLogger(__name__)
S = EnrolmentStatus

# Sessions whose trainees are convoked: still to come (a postponed session has its new dates).
DUE_SESSIONS = (SessionStatus.OPEN, SessionStatus.CLOSED, SessionStatus.CONFIRMED, SessionStatus.POSTPONED)
JOB = "convocations.session"
MAX_DAYS = 90  # the longest delay an OPCO may set (services.opco_settings.CONVOCATION_DAYS)
_PENDING = "convocations_pending"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


# --- What a convocation is made for ----------------------------------------------------------------------


def schedule_key(session: TrainingSession) -> str:
    """A hash of what the trainee must know to come: every half-day with its times, the place or the link."""
    parts = [
        f"{s.day.isoformat()} {s.half_day} {s.start_time:%H:%M}-{s.end_time:%H:%M}" for s in session.slots
    ]
    if session.is_remote:
        parts.append(f"remote {session.connection_url}")
    else:
        parts.append(f"{session.address}|{session.postal_code}|{session.city}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def due_date(session: TrainingSession) -> date:
    """The day the convocations of the session go out: N days (the OPCO's setting) before the first day."""
    return session.start_date - timedelta(days=session.action.opco.convocation_days)


def is_due(session: TrainingSession, today: date) -> bool:
    return session.status in DUE_SESSIONS and due_date(session) <= today <= session.start_date


def blocker(session: TrainingSession) -> str | None:
    """Why no convocation of this session can go out, in French (None when they can)."""
    if session.is_remote and not session.connection_url:
        return (
            "Cette session se tient à distance : indiquez le lien de connexion de la classe virtuelle "
            "avant d'envoyer les convocations."
        )
    return None


def current_convocations(session_id: int, enrolment_ids: list[int] | None = None) -> dict[int, Convocation]:
    """The convocation in force of each convoked enrolment of the session (the newest not superseded)."""
    query = (
        select(Convocation)
        .join(Document, Document.id == Convocation.document_id)
        .where(Convocation.session_id == session_id, Document.superseded_by_id.is_(None))
        .order_by(Convocation.id)
        .execution_options(populate_existing=True)
    )
    if enrolment_ids is not None:
        query = query.where(Convocation.enrolment_id.in_(enrolment_ids))
    return {c.enrolment_id: c for c in db.session.scalars(query)}


def _to_send(session: TrainingSession, today: date, *, early: bool = False) -> list[Enrolment]:
    """The enrolments to convoke now: confirmed ones when due (or sent early), convoked ones whose convocation
    was made for other dates, place or link."""
    if session.status not in DUE_SESSIONS or today > session.start_date:
        return []
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_((S.CONFIRMED, S.CONVOKED)))
        .order_by(Enrolment.id)
        .execution_options(populate_existing=True)
    ).all()
    if not rows:
        return []
    key = schedule_key(session)
    current = current_convocations(session.id)
    due = early or is_due(session, today)
    wanted = []
    for enrolment in rows:
        convocation = current.get(enrolment.id)
        if (
            convocation is not None
            and convocation.schedule_key == key
            and convocation.employee_id == enrolment.employee_id
        ):
            continue
        if enrolment.status == S.CONVOKED or due:
            wanted.append(enrolment)
    return wanted


# --- The document ----------------------------------------------------------------------------------------


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes % 60 else f"{minutes // 60} h"


def time_fr(value) -> str:
    """9h00, 13h30: how a French convocation writes a time."""
    return f"{value.hour}h{value.minute:02d}"


@dataclass
class SampleTrainee:
    """Stands for a trainee in the preview of a session nobody is confirmed on yet."""

    full_name: str = "Prénom NOM (exemple)"
    job_title: str = ""


def context(session: TrainingSession, enrolment: Enrolment | None, now: datetime) -> dict:
    """What the template prints (plain data: the template gets no request)."""
    slots = list(session.slots)
    minutes = sum(
        (datetime.combine(s.day, s.end_time) - datetime.combine(s.day, s.start_time)).seconds // 60
        for s in slots
    )
    return {
        "session": session,
        "action": session.action,
        "provider": session.provider,
        "opco": session.action.opco,
        "enrolment": enrolment,
        "trainee": enrolment.employee if enrolment else SampleTrainee(),
        "company": enrolment.company if enrolment else None,
        "slots": slots,
        "total_hours": _hours(minutes),
        "issued_on": paris_today(now),
        "time_fr": time_fr,
    }


def render(session: TrainingSession, enrolment: Enrolment | None, now: datetime) -> bytes:
    return documents.render_pdf("pdf/convocation.html", **context(session, enrolment, now))


def preview(session: TrainingSession, enrolment_id: int | None, now: datetime) -> bytes:
    """The convocation as it would go out now, for one trainee of the session or a sample one (not stored)."""
    enrolment = None
    if enrolment_id is not None:
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.id == enrolment_id,
                Enrolment.session_id == session.id,
                Enrolment.status.in_(S.TRAINEES),
            )
        )
    if enrolment is None:
        enrolment = db.session.scalar(
            select(Enrolment)
            .where(Enrolment.session_id == session.id, Enrolment.status.in_(S.TRAINEES))
            .order_by(Enrolment.id)
            .limit(1)
        )
    return render(session, enrolment, now)


def _convoke(
    session: TrainingSession, enrolment: Enrolment, now: datetime, actor: User | None
) -> Convocation:
    """Issue one convocation (caller holds the session lock): document, record, state, emails."""
    data = render(session, enrolment, now)
    document = documents.issue(
        DocumentKind.CONVOCATION,
        data,
        filename=f"convocation-{session.start_date:%Y%m%d}-{enrolment.id}.pdf",
        session_id=session.id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        enrolment_id=enrolment.id,
        company_id=enrolment.company_id,
        created_by=actor,
        purge_after=retention.purge_after(session),
    )
    previous = current_convocations(session.id, [enrolment.id]).get(enrolment.id)
    if previous is not None and previous.document_id != document.id:
        documents.supersede(previous.document, document)
    token = secrets.token_urlsafe(32)
    convocation = Convocation(
        enrolment_id=enrolment.id,
        session_id=session.id,
        employee_id=enrolment.employee_id,
        document_id=document.id,
        schedule_key=schedule_key(session),
        token_hash=_token_hash(token),
        sent_at=now,
        created_at=now,
    )
    db.session.add(convocation)
    if enrolment.status == S.CONFIRMED:
        enrolment_states.transition(enrolment, "convoke", actor, actor_org_id=session.provider_id)
    enrolment.convoked_at = now
    audit.record(
        "convocation.sent",
        organisation_id=session.provider_id,
        actor=actor,
        obj=enrolment,
        data={"document": document.id, "again": previous is not None},
    )
    db.session.flush()
    _email(enrolment, document, token, again=previous is not None)
    return convocation


def _email(enrolment: Enrolment, document: Document, token: str, *, again: bool) -> None:
    employee: Employee = enrolment.employee
    if employee.email and employee.erased_at is None:
        outbox.queue_email(
            employee.email,
            "convocation_trainee",
            organisation_id=enrolment.company_id,
            enrolment=enrolment,
            token=token,
            again=again,
        )
    for email in enrolment_notices.company_contacts(enrolment):
        outbox.queue_email(
            email,
            "convocation_company",
            organisation_id=enrolment.company_id,
            enrolment=enrolment,
            document=document,
            again=again,
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Sending ---------------------------------------------------------------------------------------------


def convoke_session(session_id: int, now: datetime, *, early: bool = False, actor: User | None = None) -> int:
    """Convoke, under the session's lock, every trainee of the session who should be now; returns how many.

    The caller commits. A remote session without its link is left alone (the organisation sees why).
    """
    session = lock_session(session_id)
    if blocker(session):
        return 0
    sent = 0
    for enrolment in _to_send(session, paris_today(now), early=early):
        _convoke(session, enrolment, now, actor)
        sent += 1
    return sent


def send_due(now: datetime | None = None) -> int:
    """Convoke every trainee due by ``now`` (daily job, ``flask send-convocations``); returns how many.

    One transaction per session, so a long run never holds many locks; a session another run is convoking
    right now is left to it.
    """
    now = now or utcnow()
    today = paris_today(now)
    # Sessions past their OPCO's date with someone confirmed, or with someone convoked (whose convocation may
    # no longer match), within the longest setting: never the whole future catalogue.
    days = dict(db.session.execute(select(Opco.id, Opco.convocation_days)).all())
    past_their_date = or_(
        false(),
        *(
            and_(TrainingSession.opco_id == opco_id, TrainingSession.start_date <= today + timedelta(days=n))
            for opco_id, n in days.items()
        ),
    )
    confirmed = select(Enrolment.session_id).where(Enrolment.status == S.CONFIRMED)
    convoked = select(Enrolment.session_id).where(Enrolment.status == S.CONVOKED)
    candidates = db.session.scalars(
        select(TrainingSession)
        .where(
            TrainingSession.status.in_(DUE_SESSIONS),
            TrainingSession.start_date >= today,
            TrainingSession.start_date <= today + timedelta(days=MAX_DAYS),
            or_(and_(past_their_date, TrainingSession.id.in_(confirmed)), TrainingSession.id.in_(convoked)),
        )
        .order_by(TrainingSession.start_date, TrainingSession.id)
    ).all()
    # The look-up takes no lock: each session is read again under its own before anything is sent.
    session_ids = [s.id for s in candidates if not blocker(s) and _to_send(s, today)]
    sent = 0
    for session_id in session_ids:
        try:
            sent += convoke_session(session_id, now)
            db.session.commit()
        except LockBusy:
            db.session.rollback()
            log.info("Session %s : convocations en cours par ailleurs, laissées à cet envoi.", session_id)
    return sent


def send_early(session: TrainingSession, actor: User, *, now: datetime | None = None) -> int:
    """The organisation sends the convocations now, before the date: checked here, sent after the commit.

    Returns how many trainees will be convoked.
    """
    now = now or utcnow()
    session = lock_session(session.id)
    if session.status not in DUE_SESSIONS:
        raise DomainError(
            f"Une session « {session.status_label} » n'envoie pas de convocations : seules les sessions à venir "
            "ouvertes, closes, confirmées ou reportées le font."
        )
    if paris_today(now) > session.start_date:
        raise DomainError("La session a commencé : les convocations ne peuvent plus être envoyées.")
    problem = blocker(session)
    if problem:
        raise DomainError(problem)
    count = len(_to_send(session, paris_today(now), early=True))
    if count == 0:
        raise DomainError("Tous les stagiaires confirmés ont déjà reçu leur convocation.")
    _after_commit(session.id, early=True, actor_id=actor.id)
    return count


# --- At once: after a late confirmation or a postponement --------------------------------------------------


def after_confirmation(*confirmed: Enrolment | None, now: datetime | None = None) -> None:
    """Called when enrolments are confirmed (enrolment, approval, offer accepted, replacement): those of a
    session whose convocations already went out are convoked right after the commit."""
    today = paris_today(now or utcnow())
    for enrolment in confirmed:
        if enrolment is None or enrolment.status not in (S.CONFIRMED, S.CONVOKED):
            continue
        if is_due(enrolment.session, today):
            _after_commit(enrolment.session_id)


def after_replacement(enrolment: Enrolment, now: datetime | None = None) -> None:
    """A colleague takes the seat: a convoked seat gets a convocation in the newcomer's name at once (the
    convocation in force was made out to someone else, see ``_to_send``)."""
    if enrolment.status == S.CONVOKED:
        _after_commit(enrolment.session_id)
    else:
        after_confirmation(enrolment, now=now)


def after_schedule_change(session: TrainingSession) -> None:
    """New dates (postponement) or a new link: the trainees already convoked get a new convocation right after
    the commit."""
    _after_commit(session.id)


def _after_commit(session_id: int, *, early: bool = False, actor_id: int | None = None) -> None:
    pending: dict = db.session.info.setdefault(_PENDING, {})
    was_early, was_actor = pending.get(session_id, (False, None))
    pending[session_id] = (early or was_early, actor_id or was_actor)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session):
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(_PENDING, None)
    for session_id, (early, actor_id) in (pending or {}).items():
        try:
            jobs.enqueue(JOB, session_id, early, actor_id)
        except Exception:  # noqa: BLE001 - committed; the daily run (send_due) convokes them anyway
            log.exception(
                "Convocations de la session %s non envoyées ; le prochain envoi quotidien les fera.",
                session_id,
            )
        if jobs.runs_inline():
            _expire_convoked(session, session_id)


def _expire_convoked(session, session_id: int) -> None:
    """The job ran inline in a session of its own and may have moved enrolments to « convoqué »: the caller's
    copies (kept after a commit that did not expire them, see ``web.actions.perform(reload=False)``) are read
    again, so the page that follows shows the convocation."""
    for obj in list(session.identity_map.values()):
        # Read without loading: an object already expired by the commit is left as it is (no SQL here).
        if isinstance(obj, Enrolment) and inspect(obj).dict.get("session_id") == session_id:
            session.expire(obj)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


@jobs.job(JOB)
def run_session_job(session_id: int, early: bool = False, actor_id: int | None = None, tenant_id=None) -> int:
    """The job: convoke one session's trainees in a transaction of its own.

    Inline (no Redis) it runs inside the commit that asked for it: a fresh application context gives it its
    own database session.
    """
    app = current_app._get_current_object()
    with app.app_context():
        try:
            actor = db.session.get(User, actor_id) if actor_id else None
            sent = convoke_session(session_id, utcnow(), early=early, actor=actor)
            db.session.commit()
        except LockBusy:
            db.session.rollback()
            return 0
        except Exception:
            db.session.rollback()
            raise
        return sent


# --- Reading: downloads ------------------------------------------------------------------------------------


def file_of(document: Document) -> tuple[str, bytes] | None:
    """A convocation's name and bytes, or None when it cannot be served (purged, altered)."""
    if document.kind != DocumentKind.CONVOCATION:
        return None
    try:
        return document.filename, documents.read(document)
    except DomainError:
        log.warning("Convocation %s illisible (purgée ou altérée).", document.id)
        return None


def by_token(token: str) -> Document | None:
    """The trainee's link: the convocation it was sent with, while it is in force and the trainee still
    expected or gone (a cancelled enrolment, a replaced trainee or a superseded convocation open nothing: a
    new convocation comes with its own link)."""
    if not _TOKEN_RE.match(token or ""):
        return None
    convocation = db.session.scalar(select(Convocation).where(Convocation.token_hash == _token_hash(token)))
    if convocation is None or convocation.document.superseded_by_id is not None:
        return None
    enrolment = db.session.get(Enrolment, convocation.enrolment_id)
    if (
        enrolment is None
        or enrolment.status not in S.TRAINEES
        or enrolment.employee_id != convocation.employee_id
        or enrolment.employee.erased_at is not None
    ):
        return None
    return convocation.document
