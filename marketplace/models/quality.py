"""Satisfaction surveys and complaints (Qualiopi indicators 30, 31 and 32).

A ``SurveyInvitation`` is one personal link sent to one person (a trainee, or the employer's contact) for one
questionnaire (« à chaud » at the end of the session, « à froid » at D+60): it holds only the hash of its token,
the questions frozen when it was sent, whether it was answered and when it was reminded. Its ``key`` is unique
per person and questionnaire, so two runs of the sending job can never send it twice.

A ``SurveyResponse`` is the answer. An anonymous answer carries no invitation, enrolment, company nor time:
nothing in the database leads from it back to the person (the invitation only says « answered »).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.limits import LONG_TEXT


class SurveyKind:
    HOT = "hot"
    COLD = "cold"
    LABELS = {HOT: "À chaud", COLD: "À froid (J+60)"}


class Respondent:
    TRAINEE = "trainee"
    MANAGER = "manager"
    LABELS = {TRAINEE: "Stagiaires", MANAGER: "Employeurs"}


class SurveyQuestion(CreatedAtMixin, db.Model):
    """A question an OPCO adds to the questionnaires of its catalogue (after the standard ones)."""

    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint("answer_type IN ('scale', 'text')", name="answer_type"),
        CheckConstraint("moment IN ('hot', 'cold', 'both')", name="moment"),
        Index("ix_survey_questions_opco", "opco_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(300))
    answer_type: Mapped[str] = mapped_column(String(10), default="scale")
    moment: Mapped[str] = mapped_column(String(10), default="both")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class SurveyInvitation(CreatedAtMixin, db.Model):
    __tablename__ = "survey_invitations"
    __table_args__ = (
        CheckConstraint("kind IN ('hot', 'cold')", name="kind"),
        CheckConstraint("respondent IN ('trainee', 'manager')", name="respondent"),
        Index("ix_survey_invitations_session", "session_id", "kind", "respondent"),
        Index("ix_survey_invitations_due", "answered", "reminded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # « hot:e:<enrolment> », « cold:e:<enrolment> », « cold:m:<session>:<company> »: one link per person and
    # questionnaire, whatever the runs.
    key: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    respondent: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    # The token is HMAC(SECRET_KEY, nonce): the reminder rebuilds the same link; the database alone cannot.
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    questions: Mapped[list] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    expires_on: Mapped[date] = mapped_column(index=True)
    # Answered, named or not: no time (an anonymous answer must not be matched by its moment).
    answered: Mapped[bool] = mapped_column(default=False)

    session = relationship("TrainingSession")
    enrolment = relationship("Enrolment")
    company = relationship("Company")


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("kind IN ('hot', 'cold')", name="kind"),
        CheckConstraint("respondent IN ('trainee', 'manager')", name="respondent"),
        # Anonymous: no way back to the person.
        CheckConstraint(
            "NOT anonymous OR (invitation_id IS NULL AND enrolment_id IS NULL AND company_id IS NULL "
            "AND submitted_at IS NULL)",
            name="anonymous_unlinked",
        ),
        Index("ix_survey_responses_session", "session_id", "kind", "respondent"),
        Index("ix_survey_responses_provider", "provider_id", "action_id"),
        Index("ix_survey_responses_opco", "opco_id", "action_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    respondent: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    action_id: Mapped[int] = mapped_column(ForeignKey("collective_actions.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    anonymous: Mapped[bool] = mapped_column(default=False)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None]

    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="SurveyAnswer.position"
    )
    enrolment = relationship("Enrolment")
    company = relationship("Company")


class SurveyAnswer(db.Model):
    """One answer to one question, with the question as it was asked (frozen on the invitation)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
        Index("ix_survey_answers_response", "response_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    question_key: Mapped[str] = mapped_column(String(40))
    question_label: Mapped[str] = mapped_column(String(300))
    score: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(String(LONG_TEXT))

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")


class ComplaintStatus:
    RECEIVED = "received"
    ANALYSED = "analysed"
    ANSWERED = "answered"
    CLOSED = "closed"
    LABELS = {
        RECEIVED: "Reçue",
        ANALYSED: "En analyse",
        ANSWERED: "Répondue",
        CLOSED: "Clôturée",
    }


class Complaint(CreatedAtMixin, db.Model):
    """A réclamation about a session, from the employer (company) or the trainee (through their link)."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'analysed', 'answered', 'closed')", name="status"),
        CheckConstraint("filer IN ('company', 'trainee')", name="filer"),
        Index("ix_complaints_provider", "provider_id", "status"),
        Index("ix_complaints_opco", "opco_id", "status"),
        Index("ix_complaints_company", "company_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.RECEIVED)
    filer: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    action_id: Mapped[int] = mapped_column(ForeignKey("collective_actions.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    # The company that filed it (None for a trainee's own complaint: the employer does not see it).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filer_name: Mapped[str] = mapped_column(String(200))
    filer_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(LONG_TEXT))
    analysis: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    answer: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    improvement: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session = relationship("TrainingSession")
    action = relationship("CollectiveAction")
    provider = relationship("TrainingProvider")
    company = relationship("Company")

    @property
    def status_label(self) -> str:
        return ComplaintStatus.LABELS[self.status]
