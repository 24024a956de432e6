"""Demo « Qualité »: answers to the « à chaud » questionnaires of the delivered sessions (some anonymous), an
OPCO question, and one complaint in each state of its workflow, so the OPCO and OF demo logins see results.

One session ended just over two months ago: its « à froid » questionnaires (trainees and employer) were sent at
D+60 as the daily job does, and answered, so the « à froid » results are not empty either."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Company,
    Enrolment,
    EnrolmentStatus,
    Opco,
    SurveyInvitation,
    SurveyKind,
    TrainingProvider,
    User,
)
from marketplace.services import complaints, survey_questions, surveys
from marketplace.services.demo_delivery import at
from marketplace.services.demo_money import hire, small_session, sst_referencing

COMMENTS = (
    "Formateur très pédagogue, beaucoup d'exercices pratiques.",
    "Un peu long l'après-midi, mais très utile.",
    "Salle trop petite pour le groupe.",
    "Exactement ce qu'il me fallait pour mon poste.",
    None,
)
COMPLAINTS = (
    ("Attestation non reçue", "Notre salarié n'a pas reçu son attestation de fin de formation.", ()),
    ("Salle trop petite", "Douze stagiaires dans une salle prévue pour huit.", ("analyse",)),
    (
        "Horaires modifiés sans prévenir",
        "La session a commencé à 9 h 30 au lieu de 9 h.",
        ("analyse", "answer"),
    ),
    (
        "Support de cours illisible",
        "Les diapositives imprimées étaient floues.",
        ("analyse", "answer", "close"),
    ),
)
STEP_TEXTS = {
    "analyse": "Faits vérifiés avec le formateur et la feuille d'émargement.",
    "answer": "Nous vous présentons nos excuses ; la situation est corrigée pour les prochaines sessions.",
    "close": "Check-list de préparation de salle ajoutée avant chaque session (jauge, supports imprimés).",
}


COLD_STAFF = (
    ("Marchand", "Hugo", "Préparateur de commandes"),
    ("Lefort", "Inès", "Agente d'accueil"),
    ("Barbier", "Julien", "Électricien"),
)


def seed_quality(
    opcos: dict[str, Opco],
    opco_admins: dict[str, User],
    providers: list[TrainingProvider],
    provider_admins: list[User],
    companies: list[Company],
    company_admins: list[User],
) -> dict[str, int]:
    survey_questions.add(
        opcos["akto"].id,
        "Les locaux ou la classe virtuelle étaient accessibles",
        "scale",
        "both",
        opco_admins["akto"],
    )
    invitations = db.session.scalars(
        select(SurveyInvitation).order_by(SurveyInvitation.session_id, SurveyInvitation.id)
    ).all()
    answered, by_questionnaire = 0, {}
    for invitation in invitations:
        n = by_questionnaire.setdefault((invitation.session_id, invitation.kind), 0)
        by_questionnaire[(invitation.session_id, invitation.kind)] = n + 1
        if n % 5 == 4:
            continue  # one in five does not answer (the response rate is not 100 %)
        seed = invitation.session_id + n
        answers = {}
        for q in invitation.questions:
            if q["type"] == surveys.SCALE:
                answers[q["key"]] = str(5 - (seed + len(q["key"])) % 3)
            else:
                answers[q["key"]] = COMMENTS[seed % len(COMMENTS)] or ""
        # The first three of a session answer anonymously (shown once three are there), the others by name.
        surveys.submit(
            surveys.token_of(invitation), answers, anonymous=n < 3, now=invitation.sent_at + timedelta(days=1)
        )
        answered += 1
    filed = _complaints(providers[0], provider_admins[0], companies[0], company_admins[0])
    return {"survey_answers": answered, "complaints": filed}


def seed_cold_session(
    today: date, providers: list[TrainingProvider], provider_admins: list[User], companies, company_admins
) -> dict[str, int]:
    """A two-day session of three trainees, closed 67 days ago (its « à chaud » went out at the closing), then
    its « à froid » sent at D+60 to the trainees and the employer, as the daily job would have. Run with the
    other delivered sessions, before the envelopes (which adopt its enrolments) and the invoices."""
    provider, provider_admin = providers[0], provider_admins[0]
    company, company_admin = companies[0], company_admins[0]
    referencing = sst_referencing(provider)
    if referencing is None:
        return {}
    people = hire(company, company_admin, COLD_STAFF)
    session = small_session(
        provider, referencing, provider_admin, company, company_admin, people, today - timedelta(days=68)
    )
    due = session.end_date + timedelta(days=surveys.COLD_AFTER_DAYS)
    return {"cold_surveys_sent": surveys.send_session(session, SurveyKind.COLD, at(due, "08:00"))}


def _complaints(provider, provider_admin, company, company_admin) -> int:
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(
            Enrolment.company_id == company.id,
            Enrolment.provider_id == provider.id,
            Enrolment.status.in_(EnrolmentStatus.TRAINEES),
        )
        .order_by(Enrolment.id)
    ).all()
    if not enrolments:
        return 0
    for n, (subject, description, steps) in enumerate(COMPLAINTS):
        complaint = complaints.file_by_company(
            enrolments[n % len(enrolments)], subject, description, company_admin
        )
        for step in steps:
            complaints.transition(complaint, step, STEP_TEXTS[step], provider_admin, provider)
    db.session.flush()
    return len(COMPLAINTS)
