"""Convocation pages: the OPCO's setting, the organisation's information for trainees, the session's
« Convocations » section (preview, send now, downloads), the company's download; bad input refused in French."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Document, DocumentKind, Enrolment, EnrolmentStatus, Opco, TrainingProvider
from marketplace.services import catalogue, convocations, jobs
from marketplace.services.errors import InvalidForm
from tests.services.test_catalogue import valid_input


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


def admin_of(org):
    return org.memberships[0].user


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def session(make, provider):
    return make.session(start=paris_today() + timedelta(days=40), days=2, provider=provider)


def test_opco_sets_the_convocation_delay_with_french_refusals(client, login, make):
    admin = make.user()
    opco = make.opco("akto", admin=admin)
    login(client, admin)
    page = client.get(f"/opco/{opco.slug}/parametres")
    assert "Convocation envoyée N jours avant le début" in page.get_data(as_text=True)
    base = {"waitlist_offer_hours": "48", "funding_basis": "ht"}
    for value, message in (
        ("abc", "Indiquez un nombre entier de jours, entre 1 et 90."),
        ("0", "Les convocations partent entre 1 et 90 jours avant le début de la session."),
        ("91", "Les convocations partent entre 1 et 90 jours avant le début de la session."),
    ):
        response = client.post(f"/opco/{opco.slug}/parametres", data={**base, "convocation_days": value})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert fresh(opco).convocation_days == 21
    ok = client.post(f"/opco/{opco.slug}/parametres", data={**base, "convocation_days": "30"})
    assert ok.status_code == 303
    assert db.session.get(Opco, opco.id, populate_existing=True).convocation_days == 30


def test_provider_fills_in_its_information_for_trainees(client, login, provider):
    login(client, admin_of(provider))
    url = f"/of/{provider.slug}/informations-stagiaires"
    assert "Règlement intérieur" in client.get(url).get_data(as_text=True)
    refused = client.post(url, data={"disability_referent": "Nadia Référente", "internal_rules": "Article 1"})
    assert refused.status_code == 422
    assert "Indiquez comment joindre le référent handicap" in refused.get_data(as_text=True)
    provider = db.session.get(TrainingProvider, provider.id, populate_existing=True)
    assert (provider.disability_referent, provider.internal_rules) == ("", "")
    refused = client.post(url, data={"signatory_title": "Directrice"})
    assert "Indiquez le nom du signataire." in refused.get_data(as_text=True)
    done = client.post(
        url,
        data={
            "disability_referent": "Nadia Référente",
            "disability_referent_contact": "04 72 00 00 00",
            "internal_rules": "Article 1 : ponctualité.",
            "signatory_name": "Anne Directrice",
            "signatory_title": "Directrice",
        },
    )
    assert done.status_code == 303
    provider = db.session.get(TrainingProvider, provider.id, populate_existing=True)
    assert provider.disability_referent == "Nadia Référente"
    assert provider.internal_rules == "Article 1 : ponctualité."


def test_the_provider_previews_sends_and_downloads_convocations(app, client, login, make, provider, session):
    company = make.company()
    enrolment = make.enrolment(
        session, company, make.employee(company, first_name="Inès", last_name="Martin")
    )
    login(client, admin_of(provider))
    page = client.get(f"/of/{provider.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Convocations" in page and "Envoyer les convocations maintenant (1)" in page
    preview = client.get(
        f"/of/{provider.slug}/sessions/{session.id}/convocations/apercu?inscription={enrolment.id}"
    )
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert db.session.scalar(select(Document.id)) is None  # a preview is not stored

    sent = client.post(f"/of/{provider.slug}/sessions/{session.id}/convocations/envoyer")
    assert sent.status_code == 303
    assert fresh(enrolment).status == EnrolmentStatus.CONVOKED
    document = db.session.scalar(select(Document).where(Document.kind == DocumentKind.CONVOCATION))
    page = client.get(f"/of/{provider.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Convoqué(e) le" in page and "Envoyer les convocations maintenant" not in page
    download = client.get(f"/of/{provider.slug}/convocations/{document.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    again = client.post(
        f"/of/{provider.slug}/sessions/{session.id}/convocations/envoyer", follow_redirects=True
    )
    assert "Tous les stagiaires confirmés ont déjà reçu leur convocation." in again.get_data(as_text=True)

    other, stranger = make.provider(), app.test_client()
    login(stranger, admin_of(other))
    assert stranger.get(f"/of/{other.slug}/convocations/{document.id}").status_code == 404


def test_the_company_downloads_its_employees_convocation_only(app, client, login, make, session):
    company = make.company()
    enrolment = make.enrolment(session, company)
    session_row = fresh(session)
    session_row.start_date = paris_today() + timedelta(days=5)  # within the 21 days: the daily job sends it
    for offset, slot in enumerate(session_row.slots):
        slot.day = session_row.start_date + timedelta(days=offset // 2)
    session_row.end_date = session_row.slots[-1].day
    db.session.commit()
    from marketplace.services import convocations

    assert convocations.send_due() == 1
    document = db.session.scalar(select(Document).where(Document.kind == DocumentKind.CONVOCATION))
    login(client, admin_of(company))
    detail = client.get(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}").get_data(as_text=True)
    assert "télécharger la convocation" in detail and "Convoqué(e)" in detail
    download = client.get(f"/entreprise/{company.slug}/convocations/{document.id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"

    other, stranger = make.company(), app.test_client()
    login(stranger, admin_of(other))
    assert stranger.get(f"/entreprise/{other.slug}/convocations/{document.id}").status_code == 404


def test_a_remote_sessions_link_is_checked(client, login, make, provider):
    session = make.session(
        start=paris_today() + timedelta(days=40), days=2, provider=provider, is_remote=True
    )
    make.enrolment(session)
    login(client, admin_of(provider))
    page = client.get(f"/of/{provider.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "indiquez le lien de connexion" in page
    url = f"/of/{provider.slug}/sessions/{session.id}/lien-connexion"
    refused = client.post(url, data={"connection_url": "javascript:alert(1)"}, follow_redirects=True)
    assert "commençant par https://" in refused.get_data(as_text=True)
    assert fresh(session).connection_url == ""
    assert client.post(url, data={"connection_url": "https://visio.exemple.test/salle"}).status_code == 303
    assert fresh(session).connection_url == "https://visio.exemple.test/salle"


def test_the_action_keeps_its_assessment_method(make):
    opco = make.opco("akto")
    action = catalogue.create_action(opco, valid_input(assessment_method="Quiz final."), None)
    db.session.commit()
    assert fresh(action).assessment_method == "Quiz final."
    with pytest.raises(InvalidForm) as refused:
        catalogue.create_action(opco, valid_input(reference="AC-X", assessment_method="x" * 10_001), None)
    assert "caractères au maximum" in refused.value.errors["assessment_method"]


def test_a_late_enrolment_through_the_page_is_convoked_at_once(client, login, make, outbox):
    company = make.company()
    session = make.session(start=paris_today() + timedelta(days=8), days=2)
    employee = make.employee(company, first_name="Alice", last_name="Durand", email="alice@exemple.test")
    login(client, admin_of(company))
    response = client.post(
        f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
        data={"employee_ids": [str(employee.id)]},
    )
    assert response.status_code == 200
    assert "convocation envoyée au salarié et à vous-même" in response.get_data(as_text=True)
    assert [m.template for m in outbox("alice@exemple.test")] == ["enrolment_trainee", "convocation_trainee"]


def test_without_redis_the_late_convocation_is_made_after_the_answer_not_inside_it(
    app_factory, login, make, outbox
):
    """Production without Redis: the page answers at once (« Place confirmée ») and the convocation — a PDF
    rendered by WeasyPrint — is made by the web process's background thread once the request has ended."""
    threads = []
    company = make.company()
    session = make.session(start=paris_today() + timedelta(days=8), days=2)
    employee = make.employee(company, first_name="Alice", last_name="Durand", email="alice@exemple.test")
    db.session.commit()
    web = app_factory(JOBS_WITHOUT_REDIS="thread")
    client = web.test_client()
    login(client, admin_of(company))
    original = jobs._REGISTRY[convocations.JOB]

    def watched(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    jobs._REGISTRY[convocations.JOB] = watched
    try:
        response = client.post(
            f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
            data={"employee_ids": [str(employee.id)]},
        )
        page = response.get_data(as_text=True)
        with web.app_context():
            jobs.wait_for_background()
    finally:
        jobs._REGISTRY[convocations.JOB] = original
    assert response.status_code == 200
    assert "Place confirmée" in page and "convocation envoyée" not in page
    assert threads and all(name.startswith("jobs") for name in threads)
    db.session.expire_all()
    enrolment = db.session.scalars(select(Enrolment).where(Enrolment.employee_id == employee.id)).one()
    assert enrolment.status == EnrolmentStatus.CONVOKED
    assert "convocation_trainee" in [m.template for m in outbox("alice@exemple.test")]
