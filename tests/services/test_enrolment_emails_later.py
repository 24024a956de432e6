"""The emails of an enrolment are queued in its transaction and written at delivery (issue 13, enrolment rush):
the request renders none of them; the delivery job writes them as things stood when the enrolment was made,
even when the enrolment changed in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Company, Enrolment, OutboxMessage, OutboxStatus, User
from marketplace.services import enrolments, scheduler
from marketplace.services import outbox as outbox_service

START = paris_today() + timedelta(days=30)


@pytest.fixture
def held_app(app_factory):
    """The production setting without Redis nor SMTP: the scheduler's job delivers, messages are held."""
    return app_factory(OUTBOX_DELIVERY="scheduler")


@pytest.fixture
def setting(make):
    akto = make.opco("akto")
    provider = make.provider(name="Forma Plus")
    make.member(provider, make.user(email="planning@forma.test"), "planner")
    session = make.session(make.action(akto, title="Gestes et postures"), provider, start=START, city="Lyon")
    requester = make.user(email="rh@nettoyage.test")
    company = make.company(name="Nettoyage Clair", admin=requester)
    employee = make.employee(company, first_name="Camille", email="camille@nettoyage.test")
    return session, company, requester, employee


def enrol(app, session, company, requester, employee) -> int:
    with app.app_context():
        [outcome] = enrolments.enrol(
            db.session.get(Company, company.id),
            session.id,
            [employee.id],
            db.session.get(User, requester.id),
        )
        db.session.commit()
        return outcome.enrolment.id


def messages(outbox, address, template):
    return [m for m in outbox(address) if m.template == template]


def test_the_request_stores_the_emails_unwritten_and_the_job_writes_them(held_app, setting, outbox):
    session, company, requester, employee = setting

    enrol(held_app, session, company, requester, employee)

    queued = outbox()
    assert {m.template for m in queued} == {
        "enrolment_confirmed",
        "enrolment_trainee",
        "provider_enrolments_new",
    }
    assert all(m.status == OutboxStatus.PENDING and m.body_text == "" for m in queued)
    assert all(m.render_context is not None for m in queued)

    result = scheduler.run_job("envoi-courriels", app=held_app)

    assert result.outcome.count == len(queued)
    [company_mail] = messages(outbox, requester.email, "enrolment_confirmed")
    assert company_mail.status == OutboxStatus.HELD
    assert company_mail.subject == f"Inscription confirmée : {employee.full_name} – Gestes et postures"
    assert "Prise en charge OPCO" in company_mail.body_text
    assert company_mail.render_context is None
    [trainee_mail] = messages(outbox, "camille@nettoyage.test", "enrolment_trainee")
    assert trainee_mail.subject == "Votre inscription à la formation « Gestes et postures »"
    assert "organisée par Forma Plus" in trainee_mail.body_text
    [provider_mail] = messages(outbox, "planning@forma.test", "provider_enrolments_new")
    assert provider_mail.subject == f"Nouvelle inscription : Gestes et postures du {START:%d/%m/%Y}"
    assert "Places occupées : 1 sur 10" in provider_mail.body_text


def test_written_later_they_tell_the_enrolment_as_it_was_made(held_app, setting, outbox, make):
    session, company, requester, employee = setting
    enrolment_id = enrol(held_app, session, company, requester, employee)
    with held_app.app_context():  # cancelled before the delivery job runs
        enrolments.cancel(db.session.get(Enrolment, enrolment_id), db.session.get(User, requester.id))
        db.session.commit()

    scheduler.run_job("envoi-courriels", app=held_app)

    [confirmed] = messages(outbox, requester.email, "enrolment_confirmed")
    assert "Prise en charge OPCO" in confirmed.body_text  # as confirmed, not « aucun (annulée) »
    [provider_mail] = messages(outbox, "planning@forma.test", "provider_enrolments_new")
    assert f"- {employee.full_name} (Agent) : confirmée" in provider_mail.body_text
    assert "Places occupées : 1 sur 10" in provider_mail.body_text  # the seat was freed since
    [cancelled] = messages(outbox, requester.email, "enrolment_cancelled")
    assert cancelled.status == OutboxStatus.HELD
    assert db.session.get(Enrolment, enrolment_id, populate_existing=True).status == "cancelled"


def test_a_message_whose_subject_is_gone_fails_with_a_reason_and_the_others_go(
    held_app, setting, outbox, make
):
    session, company, requester, employee = setting
    other = make.user(email="autre@exemple.fr")
    with held_app.app_context():
        gone = db.session.get(User, other.id)
        outbox_service.queue_email_later(
            "autre@exemple.fr", "email_confirmation", user=gone, link="http://localhost/x"
        )
        db.session.commit()
        db.session.delete(gone)
        db.session.commit()
    enrol(held_app, session, company, requester, employee)

    scheduler.run_job("envoi-courriels", app=held_app)

    [failed] = outbox("autre@exemple.fr")
    assert failed.status == OutboxStatus.FAILED
    assert failed.last_error.startswith("Rédaction impossible : User")
    assert {m.status for m in outbox() if m.recipient != "autre@exemple.fr"} == {OutboxStatus.HELD}


def test_objects_without_an_id_or_values_that_cannot_be_stored_are_refused(app, make):
    with pytest.raises(ValueError):
        outbox_service.queue_email_later("a@b.fr", "enrolment_trainee", enrolment=Enrolment())
    with pytest.raises(TypeError):
        outbox_service.queue_email_later("a@b.fr", "enrolment_trainee", when=paris_today())
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []
