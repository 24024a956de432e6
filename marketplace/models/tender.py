"""Calls for tenders ("appels d'offres"): lots, weighted criteria, questions, responses, evaluation.

An OPCO publishes a tender with lots (theme × region or national) and criteria whose weights total 100;
training organisations answer per lot with documents; evaluators, after a conflict-of-interest statement,
score each admissible response per criterion (0–5); the OPCO awards lots, which creates referencings.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.catalogue import CollectiveAction
from marketplace.models.limits import ANSWER, JUSTIFICATION, LONG_TEXT, QUESTION, RESPONSE_TEXT
from marketplace.models.organisation import Opco, TrainingProvider
from marketplace.models.reference import Region, Theme
from marketplace.models.user import User


class TenderStatus:
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    UNDER_ANALYSIS = "under_analysis"
    AWARDED = "awarded"
    UNSUCCESSFUL = "unsuccessful"
    LABELS = {
        DRAFT: "Brouillon",
        PUBLISHED: "Publié",
        CLOSED: "Clos",
        UNDER_ANALYSIS: "En analyse",
        AWARDED: "Attribué",
        UNSUCCESSFUL: "Infructueux",
    }


class TenderDocumentKind:
    """Documents a tender may require from each response (codes stored in Tender.required_documents)."""

    LABELS = {
        "technical_proposal": "Mémoire technique",
        "qualiopi_certificate": "Certificat Qualiopi",
        "price_grid": "Bordereau de prix",
        "references": "Références clients",
        "trainer_cvs": "CV des formateurs",
        "insurance": "Attestation d'assurance RC professionnelle",
        "other": "Autre document",
    }


class Tender(CreatedAtMixin, db.Model):
    __tablename__ = "tenders"
    __table_args__ = (
        UniqueConstraint("opco_id", "reference"),
        CheckConstraint(
            "status IN ('draft', 'published', 'closed', 'under_analysis', 'awarded', 'unsuccessful')",
            name="status",
        ),
        Index("ix_tenders_status_deadline", "status", "submission_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    context: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    specification: Mapped[str] = mapped_column(
        String(LONG_TEXT), default=""
    )  # cahier des charges (plain text, paragraphs)
    status: Mapped[str] = mapped_column(String(20), default=TenderStatus.DRAFT)
    published_at: Mapped[datetime | None]
    questions_deadline: Mapped[datetime | None]  # UTC
    submission_deadline: Mapped[datetime | None]  # UTC
    expected_award_date: Mapped[date | None] = mapped_column(Date)
    multi_award: Mapped[bool] = mapped_column(default=False)  # several organisations may win one lot
    required_documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None]
    awarded_at: Mapped[datetime | None]

    opco: Mapped[Opco] = relationship(lazy="joined")
    lots: Mapped[list[TenderLot]] = relationship(
        back_populates="tender", cascade="all, delete-orphan", order_by="TenderLot.number", lazy="selectin"
    )
    criteria: Mapped[list[TenderCriterion]] = relationship(
        back_populates="tender",
        cascade="all, delete-orphan",
        order_by="TenderCriterion.position",
        lazy="selectin",
    )

    @property
    def status_label(self) -> str:
        return TenderStatus.LABELS[self.status]

    @property
    def total_weight(self) -> int:
        return sum(c.weight for c in self.criteria)


class TenderLot(db.Model):
    """A lot: a theme, nationally or in one region, with expected volumes and a maximum price."""

    __tablename__ = "tender_lots"
    __table_args__ = (
        UniqueConstraint("tender_id", "number"),
        CheckConstraint("max_price_cents >= 0", name="max_price_positive"),
        CheckConstraint("status IN ('open', 'awarded', 'unsuccessful')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    theme_code: Mapped[str] = mapped_column(ForeignKey("ref_themes.code"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("ref_regions.code"))  # None: national
    expected_sessions: Mapped[int] = mapped_column(default=1)
    expected_trainees: Mapped[int] = mapped_column(default=10)
    max_price_cents: Mapped[int]  # per trainee, HT
    duration_hours: Mapped[int | None]
    # The catalogue action the winners are referenced on (an existing one, or a draft created at the award).
    action_id: Mapped[int | None] = mapped_column(ForeignKey("collective_actions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")

    tender: Mapped[Tender] = relationship(back_populates="lots")
    theme: Mapped[Theme] = relationship(lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    action: Mapped[CollectiveAction | None] = relationship()

    @property
    def scope_label(self) -> str:
        return self.region.name if self.region else "National"


class TenderCriterion(db.Model):
    """A weighted evaluation criterion; the weights of a tender total 100."""

    __tablename__ = "tender_criteria"
    __table_args__ = (CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int]

    tender: Mapped[Tender] = relationship(back_populates="criteria")


class TenderAttachment(CreatedAtMixin, db.Model):
    """A file of the specification (cahier des charges, annexes), visible to every organisation once published."""

    __tablename__ = "tender_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]


class TenderQuestion(CreatedAtMixin, db.Model):
    """A private question from an organisation; its answer, once published, is shown to all without the asker."""

    __tablename__ = "tender_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(String(QUESTION))
    answer: Mapped[str | None] = mapped_column(String(ANSWER))
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_published: Mapped[bool] = mapped_column(default=False)

    tender: Mapped[Tender] = relationship()


class ResponseStatus:
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    ADMISSIBLE = "admissible"
    INADMISSIBLE = "inadmissible"
    RETAINED = "retained"
    NOT_RETAINED = "not_retained"
    LABELS = {
        DRAFT: "Brouillon",
        SUBMITTED: "Déposée",
        WITHDRAWN: "Retirée",
        ADMISSIBLE: "Recevable",
        INADMISSIBLE: "Irrecevable",
        RETAINED: "Retenue",
        NOT_RETAINED: "Non retenue",
    }


class TenderResponse(CreatedAtMixin, db.Model):
    """One training organisation's answer to one lot."""

    __tablename__ = "tender_responses"
    __table_args__ = (
        UniqueConstraint("lot_id", "provider_id"),
        CheckConstraint(
            "status IN ('draft', 'submitted', 'withdrawn', 'admissible', 'inadmissible', 'retained', 'not_retained')",
            name="status",
        ),
        Index("ix_tender_responses_tender_status", "tender_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("tender_lots.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    # Denormalised: the OPCO that may read the response (only after the deadline).
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ResponseStatus.DRAFT)
    price_per_trainee_cents: Mapped[int | None]
    price_per_group_cents: Mapped[int | None]
    duration_hours: Mapped[int | None]
    programme: Mapped[str] = mapped_column(String(RESPONSE_TEXT), default="")
    team: Mapped[str] = mapped_column(String(RESPONSE_TEXT), default="")
    submitted_at: Mapped[datetime | None]
    # Admissibility: automatic checks and the manual checklist, with the reason when inadmissible.
    admissibility_checks: Mapped[dict] = mapped_column(JSON, default=dict)
    admissibility_reason: Mapped[str | None] = mapped_column(String(500))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime | None]
    # Result, written at the award (weighted score out of 100, rank within the lot).
    final_score: Mapped[float | None]
    rank: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tender: Mapped[Tender] = relationship()
    lot: Mapped[TenderLot] = relationship(lazy="joined")
    provider: Mapped[TrainingProvider] = relationship(lazy="joined")
    documents: Mapped[list[ResponseDocument]] = relationship(
        back_populates="response",
        cascade="all, delete-orphan",
        order_by="ResponseDocument.id",
        lazy="selectin",
    )

    @property
    def status_label(self) -> str:
        return ResponseStatus.LABELS[self.status]


class ResponseDocument(CreatedAtMixin, db.Model):
    """A file attached to a response; only the responding organisation and the OPCO (after the deadline) read it."""

    __tablename__ = "response_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("tender_responses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]

    response: Mapped[TenderResponse] = relationship(back_populates="documents")


class EvaluatorDeclaration(db.Model):
    """An evaluator's conflict-of-interest statement for one tender, signed before any score."""

    __tablename__ = "evaluator_declarations"
    __table_args__ = (UniqueConstraint("tender_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    statement: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    evaluator: Mapped[User] = relationship(lazy="joined")


class ScoreSheet(db.Model):
    """One evaluator's scores for one response; others' sheets are visible only once this one is submitted."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("response_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("tender_responses.id", ondelete="CASCADE"), index=True
    )
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    submitted_at: Mapped[datetime | None]

    evaluator: Mapped[User] = relationship(lazy="joined")
    scores: Mapped[list[Score]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", lazy="selectin"
    )


class Score(db.Model):
    """A score from 0 to 5 on one criterion, with its written justification."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("sheet_id", "criterion_id"),
        CheckConstraint("value >= 0 AND value <= 5", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("tender_criteria.id", ondelete="CASCADE"))
    value: Mapped[int]
    justification: Mapped[str] = mapped_column(String(JUSTIFICATION))

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")
    criterion: Mapped[TenderCriterion] = relationship(lazy="joined")
