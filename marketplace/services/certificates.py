"""Certificates of a delivered session: certificat de réalisation and attestation de fin de formation.

When the training organisation closes a session (service fait), ``after_delivery`` queues the job
« certificates.generate » once the closing is committed. The job renders, for every trainee whose training
is closed with time attended, the certificat de réalisation (ministry model: trainee, employer, title,
nature « action de formation », dates, hours done, the organisation's identity, NDA and signatory) and the
attestation de fin de formation (L6353-1: objectives, nature, duration, results of the assessment), stores
them once with their hash (services.documents) and emails the trainee a personal link.

Rules:
- **Who gets documents**: an enrolment closed with ``attended_minutes > 0`` (total, partial, abandon after
  some hours…). A trainee absent for the whole session (0 h) gets neither document: a certificate of
  realisation certifies hours done, and one of 0 h would certify nothing (the absence shows in the OPCO's
  control view and on the attendance sheet).
- **Idempotent**: an enrolment that already has a current document of a kind is skipped, so running the job
  twice (or on two workers) issues one document per kind per trainee; each enrolment is handled under its
  row lock and committed on its own, which is also how the progress « x / n documents » moves.
- **After a correction** (the OPCO reopened the session, the organisation closed it again) a document issued
  before the correction request is out of date: a new one is issued and the old one points to it
  (``documents.supersede``).
- ``purge_after`` of each document is the retention end (services.retention).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Company,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    TraineeLink,
    TrainingSession,
)
from marketplace.services import accounts, documents, jobs, outbox, retention, storage
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import format_nda, format_siret
from marketplace.services.locking import LockBusy, lock_row
from marketplace.services.roles import Perm

log = logging.getLogger(__name__)

KINDS = (DocumentKind.CERTIFICATE, DocumentKind.ATTESTATION)
TEMPLATES = {
    DocumentKind.CERTIFICATE: "pdf/certificate.html",
    DocumentKind.ATTESTATION: "pdf/attestation.html",
}
FILE_PREFIX = {
    DocumentKind.CERTIFICATE: "certificat-realisation",
    DocumentKind.ATTESTATION: "attestation-fin-formation",
}
# Results of the assessment written on the attestation, from the outcome frozen at closing.
RESULTS = {
    EnrolmentStatus.ATTENDED: "Formation suivie en totalité : objectifs de la formation travaillés dans leur "
    "ensemble et acquis évalués selon les modalités prévues.",
    EnrolmentStatus.PARTIALLY_ATTENDED: "Formation suivie en partie : les acquis ont été évalués sur les "
    "séquences suivies, selon les modalités prévues.",
    EnrolmentStatus.ABANDONED: "Formation interrompue (abandon) : les acquis ont été évalués sur les "
    "séquences suivies avant l'interruption.",
}
JOB = "certificates.generate"
_PENDING = "certificates_pending"


def hours_fr(minutes: int | None) -> str:
    """Minutes → « 10 h 30 », « 14 h »."""
    minutes = int(minutes or 0)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def _eligible_query(session_id: int):
    return select(Enrolment).where(
        Enrolment.session_id == session_id,
        Enrolment.status == EnrolmentStatus.CLOSED,
        Enrolment.attended_minutes > 0,
    )


def eligible_enrolments(session_id: int) -> list[Enrolment]:
    """Trainees who receive the two documents (closed, some time attended), in a stable order."""
    return list(db.session.scalars(_eligible_query(session_id).order_by(Enrolment.id)).all())


def _current_filter(session: TrainingSession):
    """Documents still valid: not superseded, and issued after the last correction request if any."""
    conditions = [Document.superseded_by_id.is_(None)]
    if session.correction_requested_at is not None:
        conditions.append(Document.created_at >= session.correction_requested_at)
    return conditions


@dataclass
class Progress:
    done: int
    expected: int

    @property
    def finished(self) -> bool:
        return self.done >= self.expected

    @property
    def percent(self) -> int:
        return 100 if not self.expected else min(100, self.done * 100 // self.expected)


def progress(session: TrainingSession) -> Progress:
    """Documents issued vs expected (two per eligible trainee): stored nowhere else, counted each time."""
    if session.status != SessionStatus.DELIVERED:
        return Progress(0, 0)
    eligible = _eligible_query(session.id).with_only_columns(Enrolment.id).scalar_subquery()
    expected = db.session.scalar(select(func.count()).select_from(_eligible_query(session.id).subquery()))
    done = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.session_id == session.id,
            Document.kind.in_(KINDS),
            Document.enrolment_id.in_(eligible),
            *_current_filter(session),
        )
    )
    return Progress(int(done or 0), 2 * int(expected or 0))


# --- Rendering --------------------------------------------------------------------------------------------


def document_context(enrolment: Enrolment, today: date | None = None) -> dict:
    """What both documents say (plain data: the templates never query)."""
    session = enrolment.session
    provider = session.provider
    action = session.action
    company = db.session.get(Company, enrolment.company_id)
    place_date = (session.delivered_at and paris_today(session.delivered_at)) or today or paris_today()
    return {
        "trainee": retention.proof_name(enrolment.employee),
        "employer": company.name,
        "employer_siret": format_siret(company.siret),
        "action": action,
        "session": session,
        "provider": provider,
        "provider_siret": format_siret(provider.siret),
        "provider_nda": format_nda(provider.nda),
        "opco_name": action.opco.name if getattr(action, "opco", None) else "",
        "done": hours_fr(enrolment.attended_minutes),
        "planned": hours_fr(enrolment.planned_minutes),
        "outcome_label": enrolment.outcome_label or "",
        "result": RESULTS.get(enrolment.outcome or "", RESULTS[EnrolmentStatus.PARTIALLY_ATTENDED]),
        "signatory_name": provider.signatory_name or "",
        "signatory_title": provider.signatory_title or "Représentant légal",
        "place": provider.city,
        "signed_on": place_date,
    }


def _filename(kind: str, enrolment: Enrolment) -> str:
    employee = enrolment.employee
    return storage.safe_filename(
        f"{FILE_PREFIX[kind]}-{employee.last_name}-{employee.first_name}-{enrolment.session_id}.pdf"
    ).replace(" ", "-")


def _issue_for(enrolment: Enrolment, session: TrainingSession, keep_until: date) -> int:
    """Issue the missing or out-of-date documents of one trainee; returns how many were issued."""
    existing = {
        d.kind: d
        for d in db.session.scalars(
            select(Document).where(
                Document.enrolment_id == enrolment.id,
                Document.kind.in_(KINDS),
                Document.superseded_by_id.is_(None),
            )
        )
    }
    context = None
    issued = 0
    for kind in KINDS:
        old = existing.get(kind)
        if old is not None and (
            session.correction_requested_at is None or old.created_at >= session.correction_requested_at
        ):
            continue
        context = context or document_context(enrolment)
        data = documents.render_pdf(TEMPLATES[kind], **context)
        new = documents.issue(
            kind,
            data,
            filename=_filename(kind, enrolment),
            session_id=session.id,
            provider_id=session.provider_id,
            opco_id=session.opco_id,
            enrolment_id=enrolment.id,
            company_id=enrolment.company_id,
            purge_after=keep_until,
        )
        if old is not None:
            documents.supersede(old, new)
        issued += 1
    return issued


def _missing(session: TrainingSession) -> list[int]:
    """Eligible enrolments lacking a current document of some kind (one query; re-checked under lock)."""
    have = (
        select(Document.enrolment_id)
        .where(Document.session_id == session.id, Document.kind.in_(KINDS), *_current_filter(session))
        .group_by(Document.enrolment_id)
        .having(func.count(func.distinct(Document.kind)) == len(KINDS))
    )
    return list(
        db.session.scalars(
            _eligible_query(session.id)
            .where(Enrolment.id.not_in(have))
            .with_only_columns(Enrolment.id)
            .order_by(Enrolment.id)
        ).all()
    )


@jobs.job(JOB)
def generate_for_session(session_id: int, *, tenant_id: int | None = None) -> int:
    """Issue the documents of every eligible trainee of a delivered session (idempotent); returns how many
    documents were issued. ``tenant_id`` is the training organisation's id (checked)."""
    session = db.session.get(TrainingSession, session_id)
    if session is None or session.status != SessionStatus.DELIVERED:
        return 0
    if tenant_id is not None and session.provider_id != tenant_id:
        log.warning("Certificats : la session %s n'est pas de l'organisme %s.", session_id, tenant_id)
        return 0
    keep_until = retention.purge_after(session)
    ids = _missing(session)
    db.session.commit()
    total = 0
    for enrolment_id in ids:
        try:
            lock_row(Enrolment.__table__, enrolment_id)  # one worker per trainee at a time
        except LockBusy:
            db.session.rollback()
            continue  # another worker is issuing this trainee's documents
        enrolment = db.session.get(Enrolment, enrolment_id, populate_existing=True)
        session = db.session.get(TrainingSession, session_id, populate_existing=True)
        if session.status != SessionStatus.DELIVERED or enrolment.status != EnrolmentStatus.CLOSED:
            db.session.rollback()
            break  # reopened meanwhile (a correction request): the next closing generates again
        issued = _issue_for(enrolment, session, keep_until)
        if issued:
            _send_trainee_link(enrolment, keep_until)
        db.session.commit()
        total += issued
    if total:
        _notify_companies(session_id)
        db.session.commit()
    return total


def after_delivery(session: TrainingSession) -> None:
    """Generate the documents once the closing is committed (a rolled-back closing generates nothing)."""
    db.session.info.setdefault(_PENDING, []).append((session.id, session.provider_id))


def request_generation(session: TrainingSession) -> TrainingSession:
    """The organisation asks again (e.g. after a failed run): only what is missing is issued."""
    if session.status != SessionStatus.DELIVERED:
        raise DomainError(
            "Les certificats sont émis une fois la session clôturée (service fait) : clôturez-la d'abord."
        )
    after_delivery(session)
    return session


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session):
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(_PENDING, [])
    for session_id, provider_id in pending:
        try:
            # A fresh application context gives the job its own database session: this one has just
            # committed and may not run SQL from its after_commit hook.
            with current_app.app_context():
                jobs.enqueue(JOB, session_id, tenant_id=provider_id)
        except Exception:  # noqa: BLE001 - the closing is committed; the OF can run the generation again
            log.exception("Génération des certificats de la session %s non lancée.", session_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


# --- Trainee links ----------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _send_trainee_link(enrolment: Enrolment, keep_until: date) -> None:
    """A new personal link (the previous one, if any, stops working), emailed to the trainee."""
    employee = enrolment.employee
    if not employee.email or employee.erased_at is not None:
        return
    token = secrets.token_urlsafe(32)
    link = db.session.scalar(select(TraineeLink).where(TraineeLink.enrolment_id == enrolment.id))
    if link is None:
        link = TraineeLink(enrolment_id=enrolment.id, token_hash=_hash(token), valid_until=keep_until)
        db.session.add(link)
    else:
        link.token_hash, link.valid_until = _hash(token), keep_until
    outbox.queue_email(
        employee.email,
        "certificates_trainee",
        organisation_id=enrolment.company_id,
        enrolment=enrolment,
        session=enrolment.session,
        token=token,
        valid_until=keep_until,
    )


def link_for_token(token: str | None, today: date) -> TraineeLink | None:
    """The trainee link of ``token``, if it exists and has not ended; None for anything else."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(TraineeLink).where(TraineeLink.token_hash == _hash(token)))
    if link is None or link.valid_until < today:
        return None
    return link


def trainee_documents(link: TraineeLink) -> list[Document]:
    """The trainee's own current certificate and attestation (files not purged)."""
    return list(
        db.session.scalars(
            select(Document)
            .where(
                Document.enrolment_id == link.enrolment_id,
                Document.kind.in_(KINDS),
                Document.superseded_by_id.is_(None),
                Document.storage_key.is_not(None),
            )
            .order_by(Document.kind.desc(), Document.id)
        ).all()
    )


def trainee_download(token: str | None, document_id: int, today: date) -> Document | None:
    """One of the trainee's own documents through their link (None: a wrong token or another's document)."""
    link = link_for_token(token, today)
    if link is None:
        return None
    return next((d for d in trainee_documents(link) if d.id == document_id), None)


def _notify_companies(session_id: int) -> None:
    """Each employer is told once that its employees' documents can be downloaded from its space."""
    rows = db.session.execute(
        _eligible_query(session_id)
        .with_only_columns(Enrolment.company_id, func.count(Enrolment.id))
        .group_by(Enrolment.company_id)
    ).all()
    session = db.session.get(TrainingSession, session_id)
    contacts = accounts.member_emails([company_id for company_id, _ in rows], "company", Perm.ENROL)
    for company_id, count in rows:
        company = db.session.get(Company, company_id)
        for email in contacts.get(company_id, []):
            outbox.queue_email(
                email,
                "certificates_company",
                organisation_id=company_id,
                company=company,
                session=session,
                count=count,
            )
