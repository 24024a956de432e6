"""The questions an OPCO adds to the satisfaction questionnaires of its catalogue (settings page).

Questions are never deleted, only deactivated: answers already given keep their wording (frozen on each
invitation when it was sent), and a question changed or deactivated now applies to the next sendings only.
"""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import SurveyQuestion, User
from marketplace.services import audit
from marketplace.services.errors import InvalidForm

MOMENTS = {"both": "À chaud et à froid", "hot": "À chaud", "cold": "À froid"}
TYPES = {"scale": "Note de 1 à 5", "text": "Réponse libre"}
MAX_QUESTIONS = 50


def of_opco(opco_id: int) -> list[SurveyQuestion]:
    return list(
        db.session.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.opco_id == opco_id)
            .order_by(SurveyQuestion.active.desc(), SurveyQuestion.position, SurveyQuestion.id)
        )
    )


def add(opco_id: int, label: str, answer_type: str, moment: str, actor: User) -> SurveyQuestion:
    label = " ".join((label or "").split())
    errors = {}
    if not label:
        errors["label"] = "Saisissez l'intitulé de la question."
    elif len(label) > 300:
        errors["label"] = "300 caractères au maximum."
    if answer_type not in TYPES:
        errors["answer_type"] = "Choisissez le type de réponse."
    if moment not in MOMENTS:
        errors["moment"] = "Choisissez quand la question est posée."
    count = db.session.scalar(
        select(func.count()).where(SurveyQuestion.opco_id == opco_id, SurveyQuestion.active.is_(True))
    )
    if count >= MAX_QUESTIONS:
        errors["label"] = f"{MAX_QUESTIONS} questions actives au maximum : désactivez-en une d'abord."
    if errors:
        raise InvalidForm(errors)
    position = db.session.scalar(
        select(func.coalesce(func.max(SurveyQuestion.position), 0)).where(SurveyQuestion.opco_id == opco_id)
    )
    question = SurveyQuestion(
        opco_id=opco_id, label=label, answer_type=answer_type, moment=moment, position=position + 1
    )
    db.session.add(question)
    db.session.flush()
    audit.record(
        "survey_question.added",
        organisation_id=opco_id,
        actor=actor,
        obj=question,
        data={"title": label, "moment": MOMENTS[moment]},
    )
    return question


def move(question: SurveyQuestion, direction: str, actor: User) -> SurveyQuestion:
    """Swap with the neighbour above (« up ») or below among the active questions; at an end, nothing moves."""
    active = [q for q in of_opco(question.opco_id) if q.active]
    if question not in active:
        return question
    index = active.index(question)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(active):
        for position, q in enumerate(active, start=1):
            q.position = position
        neighbour = active[other]
        question.position, neighbour.position = neighbour.position, question.position
        audit.record(
            "survey_question.moved",
            organisation_id=question.opco_id,
            actor=actor,
            obj=question,
            data={"title": question.label},
        )
    return question


def set_active(question: SurveyQuestion, active: bool, actor: User) -> SurveyQuestion:
    if question.active != active:
        question.active = active
        if active:
            position = db.session.scalar(
                select(func.coalesce(func.max(SurveyQuestion.position), 0)).where(
                    SurveyQuestion.opco_id == question.opco_id
                )
            )
            question.position = position + 1
        audit.record(
            "survey_question.activated" if active else "survey_question.deactivated",
            organisation_id=question.opco_id,
            actor=actor,
            obj=question,
            data={"title": question.label},
        )
    return question
