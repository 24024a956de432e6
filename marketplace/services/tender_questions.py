"""Questions of training organisations on a published call for tenders, and the OPCO's answers (kept apart
from ``tenders``: a conversation of its own, held on both sides while the tender is published).

Rules held here:

- Questions are private to the organisation asking until the question deadline; the OPCO answers, and a
  published answer is shown to every organisation, never with the asker's identity.
- A question is asked only while the tender is published (``tender_states.effective_status``: not once its
  submission deadline has come) and until its question deadline; the OPCO answers, or corrects its answer,
  only while the tender is published, and the asker is told by email of the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import datetime_fr
from marketplace.models import Tender, TenderQuestion, TenderStatus, TrainingProvider, User, utcnow
from marketplace.services import audit, outbox
from marketplace.services.errors import DomainError
from marketplace.services.tender_inputs import refuse_control
from marketplace.services.tender_states import effective_status

T = TenderStatus

MAX_QUESTION_LENGTH = 3000
MAX_ANSWER_LENGTH = 6000


# --- Questions and answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicAnswer:
    """A published question and its answer, without who asked."""

    question: str
    answer: str
    answered_at: datetime | None


def ask_question(
    tender: Tender, provider: TrainingProvider, actor: User | None, text: str, now: datetime | None = None
) -> TenderQuestion:
    """A training organisation asks a private question, while the tender is published and until the question
    deadline."""
    now = now or utcnow()
    status = effective_status(tender, now)
    if status != T.PUBLISHED:
        raise DomainError(
            f"Les questions ne sont plus possibles : l'appel d'offres est « {T.LABELS[status]} ».",
            field="question",
        )
    if tender.questions_deadline is not None and tender.questions_deadline < now:
        raise DomainError(
            f"La date limite des questions est passée ({datetime_fr(tender.questions_deadline)}) : "
            "vous ne pouvez plus poser de question.",
            field="question",
        )
    text = (text or "").strip()
    refuse_control(text, "question")
    if not text:
        raise DomainError("Écrivez votre question.", field="question")
    if len(text) > MAX_QUESTION_LENGTH:
        raise DomainError(
            f"La question ne peut pas dépasser {MAX_QUESTION_LENGTH} caractères.", field="question"
        )
    question = TenderQuestion(
        tender_id=tender.id, provider_id=provider.id, asked_by_id=actor.id if actor else None, question=text
    )
    db.session.add(question)
    db.session.flush()
    audit.record(
        "tender.question_asked",
        organisation_id=provider.id,
        actor=actor,
        obj=question,
        data={"tender_id": tender.id, "reference": tender.reference},
    )
    return question


def answer_question(
    question: TenderQuestion, actor: User | None, answer: str, publish: bool, now: datetime | None = None
) -> None:
    """The OPCO answers (or corrects its answer) while the tender is published; ``publish`` shows it to every
    organisation, without the asker. The asker is told by email of the first answer."""
    now = now or utcnow()
    tender = db.session.get(Tender, question.tender_id)
    status = effective_status(tender, now)
    if status != T.PUBLISHED:
        raise DomainError(
            f"L'appel d'offres est « {T.LABELS[status]} » : les réponses aux questions ne peuvent plus être "
            "modifiées.",
            field="answer",
        )
    answer = (answer or "").strip()
    refuse_control(answer, "answer")
    if not answer:
        raise DomainError("Écrivez la réponse.", field="answer")
    if len(answer) > MAX_ANSWER_LENGTH:
        raise DomainError(f"La réponse ne peut pas dépasser {MAX_ANSWER_LENGTH} caractères.", field="answer")
    first = question.answered_at is None
    question.answer = answer
    question.answered_at = now
    question.answered_by_id = actor.id if actor else None
    question.is_published = bool(publish)
    audit.record(
        "tender.question_answered",
        organisation_id=tender.opco_id,
        actor=actor,
        obj=question,
        data={"tender_id": tender.id, "published": bool(publish), "first": first},
    )
    if first and question.asked_by_id:
        asker = db.session.get(User, question.asked_by_id)
        if asker is not None:
            outbox.queue_email(
                asker.email,
                "tender_question_answered",
                organisation_id=question.provider_id,
                tender=tender,
                question=question,
                provider=db.session.get(TrainingProvider, question.provider_id),
            )


def public_answers(tender: Tender) -> list[PublicAnswer]:
    """Published answers, oldest first, without the asker's identity."""
    rows = db.session.execute(
        select(TenderQuestion.question, TenderQuestion.answer, TenderQuestion.answered_at)
        .where(
            TenderQuestion.tender_id == tender.id,
            TenderQuestion.is_published.is_(True),
            TenderQuestion.answer.is_not(None),
        )
        .order_by(TenderQuestion.answered_at, TenderQuestion.id)
    ).all()
    return [PublicAnswer(q, a, at) for q, a, at in rows]


def provider_questions(tender: Tender, provider: TrainingProvider) -> list[TenderQuestion]:
    """The organisation's own questions on this tender, with their answer when there is one."""
    return list(
        db.session.scalars(
            select(TenderQuestion)
            .where(TenderQuestion.tender_id == tender.id, TenderQuestion.provider_id == provider.id)
            .order_by(TenderQuestion.created_at, TenderQuestion.id)
        )
    )


def opco_questions(tender: Tender) -> list[tuple[TenderQuestion, str]]:
    """Every question on the tender with the asking organisation's name (for the OPCO), unanswered first."""
    rows = db.session.execute(
        select(TenderQuestion, TrainingProvider.name)
        .join(TrainingProvider, TrainingProvider.id == TenderQuestion.provider_id)
        .where(TenderQuestion.tender_id == tender.id)
        .order_by(TenderQuestion.answered_at.is_not(None), TenderQuestion.created_at, TenderQuestion.id)
    ).all()
    return [(q, name) for q, name in rows]


def question_state(question: TenderQuestion) -> str:
    if question.answer is None:
        return "En attente de réponse"
    if question.is_published:
        return "Réponse publiée pour tous les organismes"
    return "Répondue (réponse visible par vous seul)"
