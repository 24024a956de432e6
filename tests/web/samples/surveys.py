"""Samples for the « Qualité » pages: a complaint each organisation may read (``complaint_id``), the OPCO's own
survey question (``survey_question_id``) and, for a training organisation, the action of its sample session
(``action_id``: an OF reads the results of the actions it has held sessions of).

Complaints are filed on the enrolments and sessions other modules made (no new action in the catalogues)."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Enrolment, TrainingSession
from marketplace.services import complaints, survey_questions


def _complaint(enrolment: Enrolment, actor) -> int:
    complaint = complaints.file_by_company(
        enrolment, "Salle trop petite", "Douze stagiaires pour dix places.", actor
    )
    db.session.commit()
    return complaint.id


def add_samples(make, tenant) -> dict[str, int]:
    if tenant.kind == "provider":
        session = db.session.get(TrainingSession, tenant.samples["session_id"])
        enrolment = make.enrolment(session)
        return {"action_id": session.action_id, "complaint_id": _complaint(enrolment, make.user())}
    if tenant.kind == "opco":
        enrolment = db.session.scalar(
            select(Enrolment).where(Enrolment.session_id == tenant.samples["session_id"]).limit(1)
        )
        question = survey_questions.add(
            tenant.org.id, "Le lieu était accessible", "scale", "both", tenant.admin
        )
        db.session.commit()
        return {"complaint_id": _complaint(enrolment, make.user()), "survey_question_id": question.id}
    enrolment = db.session.get(Enrolment, tenant.samples["enrolment_id"])
    return {"complaint_id": _complaint(enrolment, tenant.admin)}
