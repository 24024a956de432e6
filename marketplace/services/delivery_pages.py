"""Read models of the delivery documents and of the OPCO's control of service fait.

Who reads a document is decided by the tenant columns of Document only: the training organisation that
issued it (``provider_id``), the OPCO funding the session (``opco_id``), the employer of the trainee
(``company_id``, per-trainee documents only). Anything else — another organisation's document, a purged
file — is « not found » for the view (404).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Company,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    Organisation,
    SessionStatus,
    TrainingSession,
)
from marketplace.services import certificates, documents, retention
from marketplace.services.errors import DomainError
from marketplace.services.pagination import Page, paginate

log = logging.getLogger(__name__)

TENANT_COLUMNS = {"provider": "provider_id", "opco": "opco_id", "company": "company_id"}
CONTROL_STATES = {"attente": SessionStatus.COMPLETED, "cloturees": SessionStatus.DELIVERED}


# --- Downloads --------------------------------------------------------------------------------------------


def readable_document(org: Organisation, document_id: int) -> Document | None:
    """The document if ``org`` may read it and its file is still kept; None otherwise (→ 404)."""
    column = TENANT_COLUMNS.get(org.kind)
    if column is None:
        return None
    return db.session.scalar(
        select(Document).where(
            Document.id == document_id,
            getattr(Document, column) == org.id,
            Document.storage_key.is_not(None),
        )
    )


def document_bytes(document: Document | None) -> bytes | None:
    """The stored bytes, checked against their hash; None when the file is gone or altered (logged)."""
    if document is None:
        return None
    try:
        return documents.read(document)
    except (DomainError, OSError):
        log.warning("Document %s illisible ou altéré : non servi.", document.id)
        return None


# --- Training organisation -------------------------------------------------------------------------------


@dataclass
class TraineeDocuments:
    enrolment: Enrolment
    name: str
    documents: list[Document]


@dataclass
class SessionDocuments:
    progress: certificates.Progress
    trainees: list[TraineeDocuments]
    others: list[Document]  # session-level documents: attendance sheets, paper scans, connection logs


def _current_documents(session_id: int) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document)
            .where(Document.session_id == session_id, Document.superseded_by_id.is_(None))
            .order_by(Document.kind, Document.id)
        ).all()
    )


def session_documents(session: TrainingSession) -> SessionDocuments:
    """The documents of a session, per trainee (every trainee who went, with or without documents)."""
    found = _current_documents(session.id)
    per_enrolment: dict[int, list[Document]] = {}
    others = []
    for document in found:
        if document.enrolment_id is None:
            others.append(document)
        else:
            per_enrolment.setdefault(document.enrolment_id, []).append(document)
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(EnrolmentStatus.TRAINEES))
        .order_by(Enrolment.id)
    ).all()
    trainees = sorted(
        (TraineeDocuments(e, retention.proof_name(e.employee), per_enrolment.get(e.id, [])) for e in rows),
        key=lambda t: t.name,
    )
    return SessionDocuments(certificates.progress(session), trainees, others)


# --- Company ----------------------------------------------------------------------------------------------


@dataclass
class CompanyDocumentRow:
    document: Document
    trainee: str
    session: TrainingSession


def company_documents(company: Company, page: int) -> Page:
    """The employer's documents about its own employees (current versions), newest sessions first."""
    query = (
        select(Document, Enrolment, TrainingSession)
        .join(Enrolment, Enrolment.id == Document.enrolment_id)
        .join(TrainingSession, TrainingSession.id == Document.session_id)
        .where(
            Document.company_id == company.id,
            Enrolment.company_id == company.id,
            Document.superseded_by_id.is_(None),
        )
        .order_by(TrainingSession.end_date.desc(), Document.enrolment_id, Document.kind, Document.id)
    )
    result = paginate(query, page, scalars=False)
    result.items = [
        CompanyDocumentRow(document, retention.proof_name(enrolment.employee), session)
        for document, enrolment, session in result.items
    ]
    return result


# --- OPCO: control of service fait ------------------------------------------------------------------------


def clean_state(value: str | None) -> str:
    return value if value in CONTROL_STATES else "attente"


def control_sessions(opco_id: int, state: str, page: int) -> Page:
    """Sessions awaiting service fait (realised, not closed) or closed by their organisation, to control."""
    query = (
        select(TrainingSession)
        .where(TrainingSession.opco_id == opco_id, TrainingSession.status == CONTROL_STATES[state])
        .order_by(TrainingSession.end_date.desc(), TrainingSession.id.desc())
    )
    return paginate(query, page)


@dataclass
class RealisationRow:
    enrolment: Enrolment
    name: str
    company: str
    planned_minutes: int
    attended_minutes: int | None
    documents: list[Document] = field(default_factory=list)

    @property
    def absent_minutes(self) -> int | None:
        if self.attended_minutes is None:
            return None
        return max(0, self.planned_minutes - self.attended_minutes)

    @property
    def outcome_label(self) -> str:
        return self.enrolment.outcome_label or self.enrolment.status_label


@dataclass
class Realisation:
    session: TrainingSession
    rows: list[RealisationRow]
    others: list[Document]
    planned_minutes: int
    attended_minutes: int
    absences: int  # trainees with time missed

    @property
    def can_request_correction(self) -> bool:
        return self.session.status == SessionStatus.DELIVERED


def session_minutes(session: TrainingSession) -> int:
    """Planned length of the session from its half-days (for trainees whose hours are not frozen yet)."""
    return sum(
        (s.end_time.hour * 60 + s.end_time.minute) - (s.start_time.hour * 60 + s.start_time.minute)
        for s in session.slots
    )


def realisation(session: TrainingSession) -> Realisation:
    """Per trainee: hours planned vs done, outcome, time missed, and the documents to download."""
    data = session_documents(session)
    planned_default = session_minutes(session)
    companies = dict(
        db.session.execute(
            select(Company.id, Company.name).where(
                Company.id.in_({t.enrolment.company_id for t in data.trainees})
            )
        ).all()
    )
    rows = [
        RealisationRow(
            t.enrolment,
            t.name,
            companies.get(t.enrolment.company_id, ""),
            t.enrolment.planned_minutes if t.enrolment.planned_minutes is not None else planned_default,
            t.enrolment.attended_minutes,
            t.documents,
        )
        for t in data.trainees
    ]
    return Realisation(
        session=session,
        rows=rows,
        others=data.others,
        planned_minutes=sum(r.planned_minutes for r in rows),
        attended_minutes=sum(r.attended_minutes or 0 for r in rows),
        absences=sum(1 for r in rows if r.absent_minutes),
    )


KIND_LABELS = DocumentKind.LABELS
