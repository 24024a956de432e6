"""Read models of the convocations: the « Convocations » section of a session (training organisation) and the
convocation of an enrolment (company)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Convocation,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    TrainingSession,
)
from marketplace.services import convocations, trainee_information

S = EnrolmentStatus


@dataclass
class Sent:
    """One convocation issued to a trainee (the one in force, or an older one it superseded)."""

    document: Document
    sent_at: datetime
    in_force: bool


@dataclass
class Row:
    enrolment: Enrolment
    sent: list[Sent] = field(default_factory=list)

    @property
    def current(self) -> Sent | None:
        return next((s for s in self.sent if s.in_force), None)


@dataclass
class SessionSection:
    rows: list[Row]
    waiting: int  # confirmed trainees not convoked yet
    due_date: date
    sends_convocations: bool  # the session is in a state whose trainees are convoked
    blocker: str | None
    missing: list[str]
    opco_days: int


def session_section(session: TrainingSession, today: date) -> SessionSection:
    """Who was convoked when (with every convocation issued), who waits, and what stops sending."""
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(S.TRAINEES))
        .order_by(Enrolment.id)
    ).all()
    issued = db.session.execute(
        select(Convocation, Document)
        .join(Document, Document.id == Convocation.document_id)
        .where(Convocation.session_id == session.id)
        .order_by(Convocation.id.desc())
    ).all()
    by_enrolment: dict[int, list[Sent]] = {}
    for convocation, document in issued:
        by_enrolment.setdefault(convocation.enrolment_id, []).append(
            Sent(document, convocation.sent_at, document.superseded_by_id is None)
        )
    rows = [Row(e, by_enrolment.get(e.id, [])) for e in enrolments]
    waiting = sum(1 for e in enrolments if e.status == S.CONFIRMED)
    return SessionSection(
        rows=rows,
        waiting=waiting,
        due_date=convocations.due_date(session),
        sends_convocations=session.status in convocations.DUE_SESSIONS and today <= session.start_date,
        blocker=convocations.blocker(session),
        missing=trainee_information.missing(session.provider),
        opco_days=session.action.opco.convocation_days,
    )


def enrolment_convocation(enrolment: Enrolment) -> Document | None:
    """The convocation in force of an enrolment (shown to its company), if one was sent."""
    return db.session.scalar(
        select(Document)
        .join(Convocation, Convocation.document_id == Document.id)
        .where(
            Convocation.enrolment_id == enrolment.id,
            Document.kind == DocumentKind.CONVOCATION,
            Document.superseded_by_id.is_(None),
        )
        .order_by(Document.id.desc())
        .limit(1)
    )
