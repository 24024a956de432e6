"""Who is told what (issue 8, case 13): the OPCO when a session of its catalogue is postponed or cancelled, the
training organisation of each enrolment and cancellation on its sessions, the company and the trainee when an
enrolment is cancelled. Every message goes through the outbox, in French."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Enrolment, TrainingSession
from marketplace.services import enrolments, sessions
from marketplace.services.session_input import SlotInput

TODAY = paris_today()
START = TODAY + timedelta(days=30)


def fresh(model, obj):
    return db.session.get(model, obj.id, populate_existing=True)


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def opco_staff(make, akto):
    """A catalogue manager (told) and a viewer (not: following sessions is the catalogue's business)."""
    manager = make.member(akto, make.user(email="catalogue@akto.test"), "catalogue_manager").user
    viewer = make.member(akto, make.user(email="lecteur@akto.test"), "viewer").user
    return manager, viewer


@pytest.fixture
def provider(make):
    provider = make.provider(name="Forma Plus")
    make.member(provider, make.user(email="planning@forma.test"), "planner")
    make.member(provider, make.user(email="formateur@forma.test"), "trainer")
    return provider


@pytest.fixture
def session(make, akto, provider):
    return make.session(make.action(akto, title="Gestes et postures"), provider, start=START, city="Lyon")


@pytest.fixture
def company(make):
    return make.company(name="Nettoyage Clair")


def mails(outbox, address, template):
    return [m for m in outbox(address) if m.template == template]


def test_the_opco_is_told_when_a_session_is_postponed(make, session, company, opco_staff, outbox):
    manager, viewer = opco_staff
    make.enrolment(session, company)
    new_days = [SlotInput(START + timedelta(days=14), half, None, None) for half in ("am", "pm")] + [
        SlotInput(START + timedelta(days=15), half, None, None) for half in ("am", "pm")
    ]

    sessions.transition(
        fresh(TrainingSession, session), "postpone", None, reason="Formateur malade", new_slots=new_days
    )
    db.session.commit()

    [mail] = mails(outbox, manager.email, "session_postponed_opco")
    assert mail.subject == "Session reportée par Forma Plus : Gestes et postures"
    body = mail.body_text
    assert f"Anciennes dates : du {START:%d/%m/%Y} au {START + timedelta(days=1):%d/%m/%Y}" in body
    assert (
        f"Nouvelles dates : du {START + timedelta(days=14):%d/%m/%Y} au {START + timedelta(days=15):%d/%m/%Y}"
        in body
    )
    assert "Motif : Formateur malade" in body
    assert not outbox(viewer.email)


def test_the_opco_is_told_when_a_session_is_cancelled(make, session, company, opco_staff, outbox):
    manager, _viewer = opco_staff
    make.enrolment(session, company)
    make.enrolment(session, company)

    sessions.transition(fresh(TrainingSession, session), "cancel", None, reason="Salle inondée")
    db.session.commit()

    [mail] = mails(outbox, manager.email, "session_cancelled_opco")
    assert mail.subject == f"Session annulée par Forma Plus : Gestes et postures du {START:%d/%m/%Y}"
    assert "Motif : Salle inondée" in mail.body_text
    assert "Inscriptions annulées : 2." in mail.body_text


def test_a_draft_cancelled_was_never_in_the_catalogue_so_the_opco_is_not_told(
    make, akto, provider, opco_staff, outbox
):
    draft = make.session(make.action(akto), provider, status="draft")

    sessions.transition(draft, "cancel", None, reason="Erreur de saisie")
    db.session.commit()

    assert not outbox(opco_staff[0].email)


def test_the_training_organisation_is_told_of_each_enrolment(make, session, company, provider, outbox):
    admin = provider.memberships[0].user
    first, second = make.employee(company, last_name="Martin"), make.employee(company, last_name="Durand")

    enrolments.enrol(company, session.id, [first.id, second.id], company.memberships[0].user)
    db.session.commit()

    for address in (admin.email, "planning@forma.test"):
        [mail] = mails(outbox, address, "provider_enrolments_new")
        assert mail.subject == f"2 nouvelles inscriptions : Gestes et postures du {START:%d/%m/%Y}"
        assert "Nettoyage Clair a inscrit sur votre session" in mail.body_text
        assert f"- {first.full_name} (Agent) : confirmée" in mail.body_text
        assert f"- {second.full_name} (Agent) : confirmée" in mail.body_text
        assert "Places occupées : 2 sur 10" in mail.body_text
    assert not outbox("formateur@forma.test")  # a trainer does not run the sessions


def test_cancelling_tells_the_company_the_trainee_and_the_training_organisation(
    make, session, company, provider, outbox
):
    requester = company.memberships[0].user
    other_hr = make.member(company, make.user(full_name="Léa Gestion"), "hr").user
    employee = make.employee(company, first_name="Camille", email="camille@nettoyage.test")
    enrolment = make.enrolment(session, company, employee, actor=requester)

    enrolments.cancel(fresh(Enrolment, enrolment), other_hr)
    db.session.commit()

    [company_mail] = mails(outbox, requester.email, "enrolment_cancelled")
    assert company_mail.subject == f"Inscription annulée : {employee.full_name} – Gestes et postures"
    assert "(annulation faite par Léa Gestion)" in company_mail.body_text
    assert "aucun frais ne vous sera facturé" in company_mail.body_text
    [trainee_mail] = mails(outbox, "camille@nettoyage.test", "enrolment_cancelled_trainee")
    assert trainee_mail.subject == "Votre inscription à la formation « Gestes et postures » est annulée"
    assert trainee_mail.body_text.startswith("Bonjour Camille,")
    [provider_mail] = mails(outbox, provider.memberships[0].user.email, "provider_enrolment_cancelled")
    assert provider_mail.subject == (
        f"Inscription annulée : {employee.full_name} – Gestes et postures du {START:%d/%m/%Y}"
    )
    assert f"Nettoyage Clair a annulé l'inscription de {employee.full_name}" in provider_mail.body_text
    assert "Places occupées : 0 sur 10" in provider_mail.body_text


def test_a_late_cancellation_says_so_to_the_company(make, akto, provider, company, outbox):
    soon = make.session(
        make.action(akto, cancellation_days=10),
        provider,
        start=TODAY + timedelta(days=3),
        registration_deadline=TODAY + timedelta(days=1),
    )
    enrolment = make.enrolment(soon, company, actor=company.memberships[0].user)

    enrolments.cancel(fresh(Enrolment, enrolment), company.memberships[0].user)
    db.session.commit()

    [mail] = mails(outbox, company.memberships[0].user.email, "enrolment_cancelled")
    assert "Annulation hors délai" in mail.body_text
    [to_provider] = mails(outbox, provider.memberships[0].user.email, "provider_enrolment_cancelled")
    assert "Annulation hors délai" in to_provider.body_text


def test_a_rolled_back_cancellation_sends_nothing(make, session, company, outbox):
    enrolment = make.enrolment(session, company)
    before = len(outbox())

    enrolments.cancel(fresh(Enrolment, enrolment), company.memberships[0].user)
    db.session.rollback()

    assert len(outbox()) == before
