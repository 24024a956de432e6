"""« Qualité »: the trainee's questionnaire page (answer once, anonymity explained, complaint), the complaint
workflow (allowed and refused steps, emails, audit, who sees what), results and export pages, OPCO questions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Complaint, OutboxMessage, SurveyResponse
from marketplace.services import complaints, surveys
from marketplace.services.errors import DomainError, InvalidForm
from tests.delivered import delivered_session
from tests.web.pages import text, visible_text

HOT = {"objectives": "4", "content": "4", "trainer": "5", "organisation": "3", "recommend": "5"}


def _token(recipient: str) -> str:
    body = db.session.scalar(
        select(OutboxMessage.body_text).where(
            OutboxMessage.template == "survey_invitation", OutboxMessage.recipient == recipient
        )
    )
    return re.search(r"/stagiaire/questionnaire/([A-Za-z0-9_-]+)", body).group(1)


@pytest.fixture
def world(make):
    """An OPCO, an OF and a company; a session ended yesterday with 3 trainees invited « à chaud »."""
    opco_admin = make.user()
    opco = make.opco("akto", admin=opco_admin)
    of_admin = make.user(email="of@exemple.test")
    provider = make.provider(admin=of_admin, name="Formations du Rhône")
    hr = make.user(email="rh@exemple.test")
    company = make.company(admin=hr)
    action = make.action(opco, title="Gestes et postures")
    session, enrolments = delivered_session(
        make,
        [(company, None, "attended", 420)] * 3,
        action=action,
        provider=provider,
        status="completed",
        days_ago=1,
        closed=False,
    )
    surveys.send_due()
    db.session.commit()
    return opco, opco_admin, provider, of_admin, company, hr, session, enrolments


def test_trainee_answers_once_on_a_phone_page_and_anonymity_is_explained(client, world):
    *_, session, enrolments = world
    token = _token(enrolments[0].employee.email)
    page = text(client.get(f"/stagiaire/questionnaire/{token}"))
    assert "Votre avis sur la formation" in page and "Gestes et postures" in page
    assert "Répondre de façon anonyme" in page and "à partir de 3 réponses anonymes" in page
    assert 'name="viewport"' in page  # phone page (base layout)
    assert page.count('type="radio"') == 5 * 5
    # Missing notes: every error at once, nothing stored.
    response = client.post(f"/stagiaire/questionnaire/{token}", data={"objectives": "4"})
    assert response.status_code == 422
    assert text(response).count("Choisissez une note de 1 à 5.") >= 4
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 0
    response = client.post(f"/stagiaire/questionnaire/{token}", data={**HOT, "anonymous": "y"})
    assert response.status_code == 303
    assert "Merci" in text(client.get(response.headers["Location"]))
    again = client.post(f"/stagiaire/questionnaire/{token}", data=HOT)
    assert again.status_code == 422 and "déjà répondu" in text(again)
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 1
    assert client.get("/stagiaire/questionnaire/inconnu-inconnu-inconnu-inconnu").status_code == 404


def test_complaint_workflow_emails_audit_and_visibility(app, client, login, make, world):
    opco, opco_admin, provider, of_admin, company, hr, session, enrolments = world
    # A trainee complains through the questionnaire link (even after answering).
    token = _token(enrolments[1].employee.email)
    response = client.post(
        f"/stagiaire/questionnaire/{token}/reclamation",
        data={"subject": "Support illisible", "description": "Les diapositives étaient floues."},
    )
    assert response.status_code == 303
    trainee_complaint = db.session.scalar(select(Complaint).where(Complaint.filer == "trainee"))
    assert trainee_complaint.company_id is None and trainee_complaint.status == "received"
    assert db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.template == "complaint_filed", OutboxMessage.recipient == "of@exemple.test"
        )
    )
    # The company files one about its enrolment.
    client = app.test_client()
    login(client, hr)
    response = client.post(
        f"/entreprise/{company.slug}/reclamations/nouvelle",
        data={
            "enrolment_id": str(enrolments[0].id),
            "subject": "Salle trop petite",
            "description": "12 pour 10.",
        },
    )
    assert response.status_code == 303
    company_complaint = db.session.scalar(select(Complaint).where(Complaint.filer == "company"))
    listing = text(client.get(f"/entreprise/{company.slug}/reclamations"))
    # The employer sees its own complaint, not the trainee's.
    assert "Salle trop petite" in listing and "Support illisible" not in listing
    assert client.get(f"/entreprise/{company.slug}/reclamations/{trainee_complaint.id}").status_code == 404
    empty = client.post(f"/entreprise/{company.slug}/reclamations/nouvelle", data={"enrolment_id": ""})
    assert empty.status_code == 422
    page = text(empty)
    assert "Choisissez l'inscription concernée." in page
    # The OF treats it: answering before the analysis is refused, in French; then analyse, answer, close.
    client = app.test_client()
    login(client, of_admin)
    base = f"/of/{provider.slug}/qualite/reclamations/{company_complaint.id}"
    assert "Salle trop petite" in text(client.get(f"/of/{provider.slug}/qualite/reclamations"))
    refused = client.post(f"{base}/etape", data={"event": "close", "text": ""})
    assert refused.status_code == 422 and "n'est pas possible quand l'état est « Reçue »" in text(refused)
    missing = client.post(f"{base}/etape", data={"event": "analyse", "text": ""})
    assert missing.status_code == 422 and "Décrivez l'analyse" in text(missing)
    assert (
        client.post(f"{base}/etape", data={"event": "analyse", "text": "Salle B réservée."}).status_code
        == 303
    )
    # The OPCO sees it but does not answer in the organisation's place.
    with pytest.raises(DomainError, match="Seul l'organisme de formation"):
        complaints.transition(
            db.session.get(Complaint, company_complaint.id), "answer", "x", opco_admin, opco
        )
    db.session.rollback()
    assert (
        client.post(f"{base}/etape", data={"event": "answer", "text": "Nous changeons de salle."}).status_code
        == 303
    )
    answered = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "complaint_answered")
    ).all()
    assert [m.recipient for m in answered] == ["rh@exemple.test"]
    assert "Nous changeons de salle." in answered[0].body_text
    assert (
        client.post(
            f"{base}/etape", data={"event": "close", "text": "Jauge vérifiée à la réservation."}
        ).status_code
        == 303
    )
    complaint = db.session.get(Complaint, company_complaint.id, populate_existing=True)
    assert complaint.status == "closed" and complaint.improvement == "Jauge vérifiée à la réservation."
    events = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "Complaint", AuditEvent.object_id == complaint.id)
        .order_by(AuditEvent.id)
    ).all()
    assert events == ["complaint.filed", "complaint.analyse", "complaint.answer", "complaint.close"]
    page = text(client.get(base))
    assert "Réclamation clôturée" in page and "Jauge vérifiée" in page
    # The OPCO of the action sees both and the history; the company sees the answer but not the analysis.
    client = app.test_client()
    login(client, opco_admin)
    listing = text(client.get(f"/opco/{opco.slug}/qualite/reclamations"))
    assert "Salle trop petite" in listing and "Support illisible" in listing
    assert "Réponse à la réclamation envoyée" in text(
        client.get(f"/opco/{opco.slug}/qualite/reclamations/{complaint.id}")
    )
    client = app.test_client()
    login(client, hr)
    page = text(client.get(f"/entreprise/{company.slug}/reclamations/{complaint.id}"))
    assert "Nous changeons de salle." in page and "Salle B réservée." not in page
    # Another OF sees none of them.
    other_admin = make.user()
    other = make.provider(admin=other_admin)
    client = app.test_client()
    login(client, other_admin)
    assert client.get(f"/of/{other.slug}/qualite/reclamations/{complaint.id}").status_code == 404
    assert "Salle trop petite" not in text(client.get(f"/of/{other.slug}/qualite/reclamations"))


def test_results_pages_and_export(app, login, make, world):
    opco, opco_admin, provider, of_admin, company, hr, session, enrolments = world
    for e, trainer in zip(enrolments, ("5", "4", "3"), strict=True):
        surveys.submit(
            _token(e.employee.email),
            {**HOT, "trainer": trainer, "comment": f"Avis {trainer}"},
            anonymous=True,
        )
    db.session.commit()
    client = app.test_client()
    login(client, of_admin)
    page = text(client.get(f"/of/{provider.slug}/qualite"))
    assert "Gestes et postures" in page and "100 %" in page
    page = text(client.get(f"/of/{provider.slug}/qualite/actions/{session.action_id}"))
    assert "4,00 / 5" in page  # trainer: (5 + 4 + 3) / 3
    assert "réponse anonyme" in page and "Avis 4" in page
    for e in enrolments:
        assert e.employee.last_name not in page
    export = client.get(f"/of/{provider.slug}/qualite/export?format=csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    body = export.get_data().decode("utf-8-sig")
    assert body.count("Anonyme") == 3 * 6  # 3 answers × 6 questions (5 notes, a comment), no name
    assert all(e.employee.last_name.upper() not in body for e in enrolments)
    assert client.get(f"/of/{provider.slug}/qualite/export?format=xlsx").status_code == 200
    client = app.test_client()
    login(client, opco_admin)
    page = text(client.get(f"/opco/{opco.slug}/qualite/actions/{session.action_id}"))
    assert "Comparaison des organismes de formation" in page and "Formations du Rhône" in page
    page = text(client.get(f"/opco/{opco.slug}/qualite"))
    assert "Satisfaction par organisme de formation" in page and "Formations du Rhône" in page
    assert text(client.get(f"/opco/{opco.slug}/qualite/sessions/{session.id}")).count("4,00 / 5") >= 1


def test_opco_adds_orders_and_deactivates_its_questions(app, login, world):
    opco, opco_admin, *_ = world
    client = app.test_client()
    login(client, opco_admin)
    url = f"/opco/{opco.slug}/qualite/questions"
    refused = client.post(url, data={"label": " ", "answer_type": "scale", "moment": "nope"})
    assert refused.status_code == 422
    page = text(refused)
    assert (
        "Saisissez l'intitulé de la question." in page and "Choisissez quand la question est posée." in page
    )
    for label in ("Première", "Seconde"):
        assert (
            client.post(url, data={"label": label, "answer_type": "scale", "moment": "both"}).status_code
            == 303
        )
    from marketplace.models import SurveyQuestion

    second = db.session.scalar(select(SurveyQuestion).where(SurveyQuestion.label == "Seconde"))
    assert client.post(f"{url}/{second.id}", data={"what": "monter"}).status_code == 303
    page = text(client.get(url))
    assert page.index("Seconde") < page.index("Première")
    assert client.post(f"{url}/{second.id}", data={"what": "desactiver"}).status_code == 303
    assert [
        q["label"] for q in surveys.questions_for(opco.id, "hot", "trainee") if q["key"].startswith("q")
    ] == ["Première"]
    assert client.post(f"{url}/{second.id}", data={"what": "n'importe"}).status_code == 303


def test_complaint_texts_are_checked(make, world):
    *_, session, enrolments = world
    with pytest.raises(InvalidForm) as refused:
        complaints.file_by_company(enrolments[0], "", "", make.user())
    assert set(refused.value.errors) == {"subject", "description"}


def test_demo_logins_see_satisfaction_results_and_a_complaint_in_each_state(app, cli, login):
    from marketplace.models import Opco, TrainingProvider, User
    from marketplace.services.demo import DEMO_PASSWORD

    assert cli("seed-demo").exit_code == 0
    states = db.session.scalars(select(Complaint.status)).all()
    assert sorted(set(states)) == ["analysed", "answered", "closed", "received"]
    assert db.session.scalar(select(func.count(SurveyResponse.id))) > 0
    of_user = db.session.scalar(select(User).where(User.email == "of@demo.test"))
    provider = next(m.organisation for m in of_user.memberships)
    assert isinstance(provider, TrainingProvider)
    client = app.test_client()
    login(client, of_user, DEMO_PASSWORD)
    page = text(client.get(f"/of/{provider.slug}/qualite"))
    assert "Satisfaction à chaud par action collective" in page and " / 5" in page
    opco_user = db.session.scalar(select(User).where(User.email == "opco@demo.test"))
    opco = next(m.organisation for m in opco_user.memberships)
    assert isinstance(opco, Opco)
    client = app.test_client()
    login(client, opco_user, DEMO_PASSWORD)
    page = text(client.get(f"/opco/{opco.slug}/qualite/reclamations"))
    assert all(label in page for label in ("Reçue", "En analyse", "Répondue", "Clôturée"))
    # « À froid »: a session closed over two months ago had its questionnaires sent at D+60 and answered.
    page = visible_text(client.get(f"/opco/{opco.slug}/qualite"))
    for who in ("stagiaires", "employeurs"):
        answers = re.search(rf"À froid \(J\+60\) — {who} (\d+) envoyés?, (\d+) réponses?", page)
        assert answers and int(answers.group(2)) > 0, who


def test_survey_answers_as_a_background_export(app, login, make, world):
    """The OPCO's « Exports » page offers the answers too: the job writes the same anonymous rows."""
    from marketplace.models import ExportJob, ExportStatus
    from marketplace.services import export_jobs

    opco, opco_admin, provider, of_admin, company, hr, session, enrolments = world
    for e, trainer in zip(enrolments, ("5", "4", "3"), strict=True):
        surveys.submit(_token(e.employee.email), {**HOT, "trainer": trainer}, anonymous=True)
    db.session.commit()
    client = app.test_client()
    login(client, opco_admin)
    assert "Réponses aux questionnaires" in text(client.get(f"/org/{opco.slug}/exports"))
    response = client.post(
        f"/org/{opco.slug}/exports",
        data={"kind": "questionnaires", "format": "csv", "year": str(session.start_date.year)},
    )
    assert response.status_code == 303
    assert export_jobs.run_waiting() == 1
    db.session.expire_all()
    job = db.session.scalar(select(ExportJob).where(ExportJob.organisation_id == opco.id))
    assert job.status == ExportStatus.DONE and job.rows_total == 3 * 6  # 3 answers × 6 questions
    body = client.get(f"/org/{opco.slug}/exports/{job.id}/fichier").get_data().decode("utf-8-sig")
    assert body.count("Anonyme") == 3 * 6
    assert all(e.employee.last_name.upper() not in body for e in enrolments)
    # Another year: nothing.
    other = export_jobs.start(
        opco, "admin", opco_admin, "questionnaires", "csv", str(session.start_date.year - 1)
    )
    db.session.commit()
    export_jobs.run_waiting()
    db.session.expire_all()
    assert db.session.get(ExportJob, other.id).rows_total == 0
