"""Satisfaction surveys (Qualiopi indicator 30): who is asked, when, and the answer through a personal link.

When:
- « à chaud »: each trainee who came, as soon as the organisation closes the session (service fait, in the
  closing's transaction: ``after_closing``), or by the daily job once the session's last day is over;
- « à froid »: at D+60 after the last day, each trainee again and, once per company, the employer's contact who
  enrolled them (the daily job);
- one reminder, ``REMIND_AFTER_DAYS`` after the sending, to whoever has not answered; the link ends on
  ``expires_on`` (``VALID_DAYS`` after the sending).

Sending twice is impossible: an invitation's ``key`` is unique per person and questionnaire, each session is
handled under its lock and read again there, and a reminder is claimed by one UPDATE (``reminded_at IS NULL``).

The token is ``HMAC(SECRET_KEY, nonce)``: only its SHA-256 is stored, the reminder rebuilds the same link, and
the database alone opens nothing. Answers: ``submit`` locks the invitation's row and refuses a second answer
(« déjà répondu »). An anonymous answer is stored without invitation, enrolment, company nor time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Enrolment,
    EnrolmentStatus,
    Respondent,
    SessionStatus,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    SurveyQuestion,
    SurveyResponse,
    TrainingSession,
    utcnow,
)
from marketplace.models.limits import LONG_TEXT
from marketplace.services import enrolment_notices, outbox
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.locking import LockBusy, lock_row, lock_session

log = logging.getLogger(__name__)
S = EnrolmentStatus

COLD_AFTER_DAYS = 60
REMIND_AFTER_DAYS = 7
VALID_DAYS = 30
HOT_WINDOW_DAYS = 30  # a session over for longer than this without its « à chaud » is left alone
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
# Sessions whose trainees came (the session took place): the daily job asks once the last day is over.
HELD = (SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED, SessionStatus.DELIVERED)
# A trainee asked: expected or gone, not absent all along.
NOT_ASKED = (S.ABSENT, S.ABSENT_EXCUSED)

SCALE = "scale"
TEXT = "text"
COMMENT = ("comment", "Commentaire libre (ce qui vous a plu, ce qui pourrait être amélioré)", TEXT)
RECOMMEND = ("recommend", "Recommanderiez-vous cette formation ?", SCALE)
STANDARD = {
    (SurveyKind.HOT, Respondent.TRAINEE): (
        ("objectives", "Les objectifs de la formation ont été atteints", SCALE),
        ("content", "Le contenu correspondait à vos attentes", SCALE),
        ("trainer", "Le formateur ou la formatrice (clarté, écoute, maîtrise du sujet)", SCALE),
        ("organisation", "L'organisation (lieu ou classe virtuelle, horaires, documents)", SCALE),
        RECOMMEND,
        COMMENT,
    ),
    (SurveyKind.COLD, Respondent.TRAINEE): (
        ("objectives", "Avec le recul, les objectifs de la formation ont été atteints", SCALE),
        ("applied", "Vous mettez en pratique dans votre travail ce que vous avez appris", SCALE),
        RECOMMEND,
        COMMENT,
    ),
    (SurveyKind.COLD, Respondent.MANAGER): (
        ("applied", "Vos salariés utilisent dans leur poste les compétences acquises", SCALE),
        ("effect", "La formation a eu un effet visible sur leur travail", SCALE),
        RECOMMEND,
        COMMENT,
    ),
}
SCALE_LABELS = {
    1: "Pas du tout satisfait",
    2: "Peu satisfait",
    3: "Moyennement",
    4: "Satisfait",
    5: "Très satisfait",
}


# --- Questions ---------------------------------------------------------------------------------------------


def questions_for(opco_id: int, kind: str, respondent: str) -> list[dict]:
    """The questions asked now: the standard ones, then the OPCO's active ones (trainees only), in order."""
    asked = [{"key": k, "label": label, "type": t} for k, label, t in STANDARD[(kind, respondent)]]
    if respondent == Respondent.TRAINEE:
        custom = db.session.scalars(
            select(SurveyQuestion)
            .where(
                SurveyQuestion.opco_id == opco_id,
                SurveyQuestion.active.is_(True),
                SurveyQuestion.moment.in_((kind, "both")),
            )
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        ).all()
        comment = asked.pop()
        asked += [{"key": f"q{q.id}", "label": q.label, "type": q.answer_type} for q in custom]
        asked.append(comment)
    return asked


# --- Tokens ------------------------------------------------------------------------------------------------


def _token(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"survey:{nonce}".encode(), hashlib.sha256).hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(invitation: SurveyInvitation) -> str:
    return _token(invitation.nonce)


# --- Sending -----------------------------------------------------------------------------------------------


def _asked_enrolments(session_id: int) -> list[Enrolment]:
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status.in_(S.TRAINEES))
        .order_by(Enrolment.id)
        .execution_options(populate_existing=True)
    ).all()
    return [
        e
        for e in rows
        if e.status not in NOT_ASKED
        and e.outcome not in NOT_ASKED
        and e.employee.email
        and e.employee.erased_at is None
    ]


def _existing_keys(session_id: int) -> set[str]:
    return set(
        db.session.scalars(select(SurveyInvitation.key).where(SurveyInvitation.session_id == session_id))
    )


def _invite(
    session: TrainingSession,
    key: str,
    kind: str,
    respondent: str,
    recipient: str,
    company_id: int,
    enrolment: Enrolment | None,
    now: datetime,
) -> SurveyInvitation:
    nonce = secrets.token_hex(16)
    invitation = SurveyInvitation(
        key=key,
        kind=kind,
        respondent=respondent,
        session_id=session.id,
        enrolment_id=enrolment.id if enrolment else None,
        company_id=company_id,
        recipient=recipient,
        nonce=nonce,
        token_hash=_hash(_token(nonce)),
        questions=questions_for(session.opco_id, kind, respondent),
        sent_at=now,
        expires_on=paris_today(now) + timedelta(days=VALID_DAYS),
        created_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    _email(invitation, session, reminder=False)
    return invitation


def _email(invitation: SurveyInvitation, session: TrainingSession, *, reminder: bool) -> None:
    outbox.queue_email(
        invitation.recipient,
        "survey_invitation",
        organisation_id=invitation.company_id,
        invitation=invitation,
        session=session,
        token=token_of(invitation),
        reminder=reminder,
        manager=invitation.respondent == Respondent.MANAGER,
        hot=invitation.kind == SurveyKind.HOT,
    )


def send_session(session: TrainingSession, kind: str, now: datetime) -> int:
    """Invite everyone of ``session`` not invited yet to ``kind`` (caller holds the session lock)."""
    keys = _existing_keys(session.id)
    sent = 0
    managers: dict[int, Enrolment] = {}
    for enrolment in _asked_enrolments(session.id):
        key = f"{kind}:e:{enrolment.id}"
        if key not in keys:
            _invite(
                session,
                key,
                kind,
                Respondent.TRAINEE,
                enrolment.employee.email,
                enrolment.company_id,
                enrolment,
                now,
            )
            sent += 1
        managers.setdefault(enrolment.company_id, enrolment)
    if kind == SurveyKind.COLD:
        for company_id, enrolment in managers.items():
            key = f"cold:m:{session.id}:{company_id}"
            contacts = enrolment_notices.company_contacts(enrolment)
            if key not in keys and contacts:
                _invite(session, key, kind, Respondent.MANAGER, contacts[0], company_id, None, now)
                sent += 1
    return sent


def after_closing(session: TrainingSession, now: datetime | None = None) -> int:
    """The « à chaud » goes out with the closing (service fait), in its transaction (session locked)."""
    return send_session(session, SurveyKind.HOT, now or utcnow())


def _due_sessions(kind: str, today: date) -> list[int]:
    if kind == SurveyKind.HOT:
        low, high = today - timedelta(days=HOT_WINDOW_DAYS), today - timedelta(days=1)
    else:
        low = today - timedelta(days=COLD_AFTER_DAYS + VALID_DAYS)
        high = today - timedelta(days=COLD_AFTER_DAYS)
    ids = db.session.scalars(
        select(TrainingSession.id)
        .where(
            TrainingSession.status.in_(HELD),
            TrainingSession.end_date >= low,
            TrainingSession.end_date <= high,
        )
        .order_by(TrainingSession.end_date, TrainingSession.id)
    ).all()
    return list(ids)


def send_due(now: datetime | None = None) -> int:
    """The daily job: « à chaud » of the sessions over, « à froid » at D+60, then the reminders.

    One transaction per session under its lock; a session another run holds is left to it (it sends).
    """
    now = now or utcnow()
    today = paris_today(now)
    sent = 0
    for kind in (SurveyKind.HOT, SurveyKind.COLD):
        for session_id in _due_sessions(kind, today):
            try:
                session = lock_session(session_id)
                sent += send_session(session, kind, now)
                db.session.commit()
            except LockBusy:
                db.session.rollback()
                log.info("Session %s : questionnaires envoyés par une autre exécution.", session_id)
    return sent + send_reminders(now)


def send_reminders(now: datetime | None = None) -> int:
    """One reminder to whoever has not answered ``REMIND_AFTER_DAYS`` after the sending (link still open).

    Each reminder is claimed by one UPDATE on ``reminded_at IS NULL``: two runs remind once.
    """
    now = now or utcnow()
    today = paris_today(now)
    ids = db.session.scalars(
        select(SurveyInvitation.id)
        .where(
            SurveyInvitation.answered.is_(False),
            SurveyInvitation.reminded_at.is_(None),
            SurveyInvitation.sent_at <= now - timedelta(days=REMIND_AFTER_DAYS),
            SurveyInvitation.expires_on >= today,
        )
        .order_by(SurveyInvitation.id)
    ).all()
    count = 0
    for invitation_id in ids:
        claimed = db.session.execute(
            update(SurveyInvitation)
            .where(
                SurveyInvitation.id == invitation_id,
                SurveyInvitation.reminded_at.is_(None),
                SurveyInvitation.answered.is_(False),
            )
            .values(reminded_at=now)
        ).rowcount
        if claimed:
            invitation = db.session.get(SurveyInvitation, invitation_id, populate_existing=True)
            _email(invitation, invitation.session, reminder=True)
            count += 1
        db.session.commit()
    return count


# --- Answering ---------------------------------------------------------------------------------------------


def by_token(token: str | None, today: date) -> SurveyInvitation | None:
    """The invitation of ``token`` (answered or not, expired or not); None for anything else."""
    if not token or not _TOKEN_RE.match(token):
        return None
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.token_hash == _hash(token)))


def refusal(invitation: SurveyInvitation, today: date) -> str | None:
    """Why this link takes no answer now, in French (None when it does)."""
    if invitation.answered:
        return "Vous avez déjà répondu à ce questionnaire : une seule réponse est possible par lien. Merci !"
    if invitation.expires_on < today:
        return "Ce questionnaire est clos depuis le " + invitation.expires_on.strftime("%d/%m/%Y") + "."
    return None


def _parse(questions: list[dict], form: dict) -> list[tuple[dict, int | None, str | None]]:
    errors, parsed = {}, []
    for q in questions:
        raw = (form.get(q["key"]) or "").strip()
        if q["type"] == SCALE:
            if raw not in {"1", "2", "3", "4", "5"}:
                errors[q["key"]] = "Choisissez une note de 1 à 5."
                continue
            parsed.append((q, int(raw), None))
        else:
            if len(raw) > LONG_TEXT:
                errors[q["key"]] = f"{LONG_TEXT:,} caractères au maximum.".replace(",", " ")
                continue
            parsed.append((q, None, raw or None))
    if errors:
        raise InvalidForm(errors)
    return parsed


def submit(token: str, form: dict, *, anonymous: bool, now: datetime | None = None) -> SurveyResponse:
    """Store the answer of the link's person once: the invitation's row is locked, then checked unanswered.

    Anonymous (trainees only): the answer keeps the session and the questionnaire, nothing about the person.
    No audit event either way (an event's time next to an anonymous answer would tell who answered).
    """
    now = now or utcnow()
    today = paris_today(now)
    invitation = by_token(token, today)
    if invitation is None:
        raise DomainError("Ce lien de questionnaire n'est pas valable.")
    parsed = _parse(invitation.questions, form)
    if not lock_row(SurveyInvitation.__table__, invitation.id):
        raise DomainError("Ce lien de questionnaire n'est pas valable.")
    invitation = db.session.get(SurveyInvitation, invitation.id, populate_existing=True)
    problem = refusal(invitation, today)
    if problem:
        raise DomainError(problem)
    anonymous = anonymous and invitation.respondent == Respondent.TRAINEE
    session = invitation.session
    response = SurveyResponse(
        kind=invitation.kind,
        respondent=invitation.respondent,
        session_id=session.id,
        action_id=session.action_id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        anonymous=anonymous,
        invitation_id=None if anonymous else invitation.id,
        enrolment_id=None if anonymous else invitation.enrolment_id,
        company_id=None if anonymous else invitation.company_id,
        submitted_at=None if anonymous else now,
    )
    for position, (q, score, text) in enumerate(parsed):
        response.answers.append(
            SurveyAnswer(
                position=position, question_key=q["key"], question_label=q["label"], score=score, text=text
            )
        )
    invitation.answered = True
    db.session.add(response)
    db.session.flush()
    return response
