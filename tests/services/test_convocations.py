"""Convocations: sent N days before the start (the OPCO's setting), at once after a late confirmation, again on
postponement or replacement, once only (also when two runs race), with the L6353-8 mentions in the PDF."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Convocation,
    Document,
    DocumentKind,
    Enrolment,
    EnrolmentStatus,
    TrainingSession,
    utcnow,
)
from marketplace.services import convocations, documents, enrolment_notices, enrolments, sessions
from marketplace.services.errors import DomainError
from marketplace.services.session_input import SlotInput

S = EnrolmentStatus


def pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


def convocation_docs(enrolment=None) -> list[Document]:
    query = select(Document).where(Document.kind == DocumentKind.CONVOCATION).order_by(Document.id)
    if enrolment is not None:
        query = query.where(Document.enrolment_id == enrolment.id)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def session_in(make, days: int, **kwargs) -> TrainingSession:
    """A session whose first day is ``days`` days after today (Paris), two full days, in Lyon by default."""
    return make.session(start=paris_today() + timedelta(days=days), days=2, **kwargs)


@pytest.fixture
def provider(make):
    provider = make.provider(name="Formations Lumière")
    provider.disability_referent = "Nadia Référente"
    provider.disability_referent_contact = "04 72 00 00 00 — handicap@lumiere.test"
    provider.internal_rules = (
        "Article 1 : la ponctualité est de rigueur.\nArticle 2 : le téléphone reste éteint."
    )
    provider.signatory_name = "Marc Directeur"
    provider.signatory_title = "Directeur"
    db.session.commit()
    return provider


@pytest.fixture
def action(make):
    action = make.action(title="Gestes et postures", objectives="Prévenir les troubles musculosquelettiques.")
    action.programme = "Jour 1 : anatomie. Jour 2 : mises en situation."
    action.assessment_method = "Quiz final et mise en situation filmée."
    db.session.commit()
    return action


def test_sent_at_d_minus_21_not_at_d_minus_22(make, action, provider, outbox):
    session = session_in(make, 22, action=action, provider=provider)
    enrolment = make.enrolment(session, employee=None)
    assert fresh(enrolment).status == S.CONFIRMED  # D-22: not yet
    now = utcnow()
    assert convocations.send_due(now) == 0
    assert convocation_docs() == []

    assert convocations.send_due(now + timedelta(days=1)) == 1  # D-21
    enrolment = fresh(enrolment)
    assert enrolment.status == S.CONVOKED and enrolment.convoked_at is not None
    [document] = convocation_docs(enrolment)
    assert document.company_id == enrolment.company_id and document.provider_id == provider.id
    assert [m.subject for m in outbox(enrolment.employee.email)][-1].startswith(
        "Convocation : Gestes et postures"
    )


def test_the_opcos_setting_moves_the_date(make, action, provider):
    session = session_in(make, 25, action=action, provider=provider)
    enrolment = make.enrolment(session)
    assert convocations.send_due(utcnow()) == 0
    action.opco.convocation_days = 30
    db.session.commit()
    assert convocations.send_due(utcnow()) == 1
    assert fresh(enrolment).status == S.CONVOKED


def test_a_late_enrolment_is_convoked_at_once(make, action, provider, outbox):
    session = session_in(make, 10, action=action, provider=provider)
    company = make.company()
    employee = make.employee(company, first_name="Inès", last_name="Martin", email="ines@exemple.test")
    enrolment = make.enrolment(session, company, employee)  # commits: the job runs after the commit
    enrolment = fresh(enrolment)
    assert enrolment.status == S.CONVOKED
    assert len(convocation_docs(enrolment)) == 1
    [mail] = [m for m in outbox("ines@exemple.test") if m.template == "convocation_trainee"]
    assert "/convocation/" in mail.body_text
    contacts = enrolment_notices.company_contacts(enrolment)
    assert [m.template for m in outbox(contacts[0])].count("convocation_company") == 1


def test_send_due_twice_sends_once(make, action, provider, outbox, cli):
    session = session_in(make, 22, action=action, provider=provider)
    enrolment = make.enrolment(session)
    later = utcnow() + timedelta(days=1)
    assert convocations.send_due(later) == 1
    assert convocations.send_due(later) == 0
    result = cli("send-convocations")
    assert result.exit_code == 0 and "0 convocation envoyée." in result.stdout
    assert len(convocation_docs(enrolment)) == 1
    for recipient in [enrolment.employee.email, *enrolment_notices.company_contacts(enrolment)]:
        convocation_mails = [m for m in outbox(recipient) if m.template.startswith("convocation_")]
        assert len(convocation_mails) == 1, recipient


def test_two_runs_in_parallel_convoke_each_trainee_once(app, make, action, provider):
    session = session_in(make, 22, action=action, provider=provider, capacity_max=6)
    company = make.company()
    for _ in range(4):
        make.enrolment(session, company)
    later = utcnow() + timedelta(days=1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(convocations.send_due(later))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(results) == 4
    per_enrolment = db.session.execute(
        select(Convocation.enrolment_id, func.count()).group_by(Convocation.enrolment_id)
    ).all()
    assert len(per_enrolment) == 4 and all(count == 1 for _, count in per_enrolment)
    assert len(convocation_docs()) == 4


def test_postponement_sends_a_new_convocation_and_supersedes_the_old(make, action, provider, outbox):
    session = session_in(make, 10, action=action, provider=provider)
    enrolment = make.enrolment(session)
    [old] = convocation_docs(enrolment)
    new_start = paris_today() + timedelta(days=40)
    sessions.transition(
        session,
        "postpone",
        make.user(),
        reason="Formateur malade",
        new_slots=[
            SlotInput(new_start, "am"),
            SlotInput(new_start, "pm"),
            SlotInput(new_start + timedelta(days=1), "am"),
            SlotInput(new_start + timedelta(days=1), "pm"),
        ],
    )
    db.session.commit()
    first, second = convocation_docs(enrolment)
    assert first.id == old.id and first.superseded_by_id == second.id and second.superseded_by_id is None
    assert fresh(enrolment).status == S.CONVOKED
    text = pdf_text(documents.read(second))
    assert new_start.strftime("%d/%m/%Y") in text
    subjects = [m.subject for m in outbox(enrolment.employee.email) if m.template == "convocation_trainee"]
    assert len(subjects) == 2 and subjects[1].startswith("Nouvelle convocation")
    # Running the daily job afterwards changes nothing.
    assert convocations.send_due(utcnow()) == 0


def test_the_pdf_carries_what_l6353_8_requires(make, action, provider):
    session = session_in(make, 10, action=action, provider=provider)
    company = make.company(name="Menuiserie Durand")
    employee = make.employee(company, first_name="Inès", last_name="Martin")
    enrolment = make.enrolment(session, company, employee)
    [document] = convocation_docs(enrolment)
    text = pdf_text(documents.read(document))
    for expected in (
        "Inès Martin",
        "Menuiserie Durand",
        "Gestes et postures",
        "Prévenir les troubles musculosquelettiques.",
        "Jour 1 : anatomie",
        session.start_date.strftime("%d/%m/%Y"),
        (session.start_date + timedelta(days=1)).strftime("%d/%m/%Y"),
        "9h00–12h30",
        "13h30–17h00",
        "10 rue de la Formation, 69003 Lyon",
        "Claire Formatrice",
        "Quiz final et mise en situation filmée.",
        "Nadia Référente",
        provider.nda,
        "Paul Contact",
        "Règlement intérieur",
        "la ponctualité est de rigueur",
        "Marc Directeur",
    ):
        assert expected in text, expected


def test_a_remote_session_needs_its_link_before_convocations(make, action, provider):
    session = session_in(make, 30, action=action, provider=provider, is_remote=True)
    enrolment = make.enrolment(session)
    actor = make.user()
    with pytest.raises(DomainError, match="lien de connexion"):
        convocations.send_early(session, actor)
    db.session.rollback()
    assert convocations.send_due(utcnow() + timedelta(days=20)) == 0  # due, but nothing can go out
    with pytest.raises(DomainError, match="https://"):
        sessions_link(session, "javascript:alert(1)", actor)
    db.session.rollback()
    sessions_link(session, "https://visio.exemple.test/salle-42", actor)
    db.session.commit()
    assert convocations.send_early(fresh(session), actor) == 1
    db.session.commit()
    [document] = convocation_docs(enrolment)
    assert "https://visio.exemple.test/salle-42" in pdf_text(documents.read(document))
    assert fresh(enrolment).status == S.CONVOKED
    # A new link: the trainee convoked gets a new convocation at once, the old one is superseded.
    sessions_link(fresh(session), "https://visio.exemple.test/salle-43", actor)
    db.session.commit()
    old, new = convocation_docs(enrolment)
    assert old.superseded_by_id == new.id
    assert "https://visio.exemple.test/salle-43" in pdf_text(documents.read(new))


def sessions_link(session, url, actor):
    from marketplace.services import trainee_information

    return trainee_information.set_connection_url(session, url, actor)


def test_send_early_refuses_when_everyone_is_convoked(make, action, provider):
    session = session_in(make, 30, action=action, provider=provider)
    make.enrolment(session)
    actor = make.user()
    assert convocations.send_early(session, actor) == 1
    db.session.commit()
    with pytest.raises(DomainError, match="déjà reçu leur convocation"):
        convocations.send_early(fresh(session), actor)


def test_replacement_convokes_the_newcomer_and_the_old_link_stops(make, action, provider, outbox, client):
    session = session_in(make, 10, action=action, provider=provider)
    company = make.company()
    enrolment = make.enrolment(session, company, make.employee(company, email="premier@exemple.test"))
    [mail] = [m for m in outbox("premier@exemple.test") if m.template == "convocation_trainee"]
    link = re.search(r"http://localhost(/convocation/\S+)", mail.body_text).group(1)
    assert client.get(link).status_code == 200
    newcomer = make.employee(company, first_name="Zoé", last_name="Nouvelle", email="zoe@exemple.test")
    enrolments.replace(fresh(enrolment), newcomer.id, enrolment.requested_by)
    db.session.commit()
    old, new = convocation_docs(enrolment)
    assert old.superseded_by_id == new.id
    assert "Zoé Nouvelle" in pdf_text(documents.read(new))
    assert client.get(link).status_code == 404  # the former trainee's link opens nothing now
    [mail] = [m for m in outbox("zoe@exemple.test") if m.template == "convocation_trainee"]
    new_link = re.search(r"http://localhost(/convocation/\S+)", mail.body_text).group(1)
    response = client.get(new_link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert client.get("/convocation/" + "x" * 43).status_code == 404


def test_a_cancelled_enrolment_is_not_convoked(make, action, provider):
    session = session_in(make, 22, action=action, provider=provider)
    enrolment = make.enrolment(session)
    enrolments.cancel(fresh(enrolment), enrolment.requested_by)
    db.session.commit()
    assert convocations.send_due(utcnow() + timedelta(days=1)) == 0
    assert db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.status == S.CONVOKED)) == 0


def test_the_session_form_checks_the_link_of_a_distance_session(make):
    from tests.services.test_sessions import session_input

    referencing = make.referencing(make.action(modality="mixte"), make.provider())
    actor = make.user()
    today = paris_today()
    with pytest.raises(DomainError, match="https://") as refused:
        sessions.create_session(
            referencing.provider,
            session_input(referencing, is_remote=True, connection_url="ftp://x"),
            actor,
            today,
        )
    assert refused.value.field == "connection_url"
    db.session.rollback()
    created = sessions.create_session(
        referencing.provider,
        session_input(referencing, is_remote=True, connection_url=" https://visio.exemple.test/a "),
        actor,
        today,
    )
    assert created.connection_url == "https://visio.exemple.test/a"
    onsite = sessions.create_session(
        referencing.provider,
        session_input(referencing, connection_url="https://visio.exemple.test/b"),
        actor,
        today,
    )
    assert onsite.connection_url == ""  # a session on site has no link
