"""Sessions on the training organisation's side: creation rules, the state machine, notifications, lists, exports."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    TrainingSession,
    utcnow,
)
from marketplace.services import employees, enrolments, exports, session_pages, sessions
from marketplace.services.errors import DomainError
from marketplace.services.session_input import SessionInput, SlotInput

TODAY = paris_today()
START = TODAY + timedelta(days=30)


def fresh(session) -> TrainingSession:
    return db.session.get(TrainingSession, session.id, populate_existing=True)


def two_days(start: date = START) -> list[SlotInput]:
    return [
        SlotInput(start, "am", time(9), time(12, 30)),
        SlotInput(start, "pm", time(13, 30), time(17)),
        SlotInput(start + timedelta(days=1), "am"),  # default times
        SlotInput(start + timedelta(days=1), "pm"),
    ]


def session_input(referencing, **changes) -> SessionInput:
    data = SessionInput(
        referencing_id=referencing.id,
        slots=two_days(),
        registration_deadline=START - timedelta(days=7),
        capacity_min=4,
        capacity_max=12,
        address="12 rue des Formations",
        postal_code="69003",
        city="Lyon",
        region_code="84",
        trainer_names="Claire Formatrice",
        contact_name="Paul Contact",
        contact_email="Paul.Contact@of.test",
        contact_phone="04 72 00 00 00",
        notes="Accès tram T1.",
    )
    return replace(data, **changes)


@pytest.fixture
def provider(make):
    return make.provider()


@pytest.fixture
def actor(provider):
    return provider.memberships[0].user


@pytest.fixture
def action(make):
    return make.action(make.opco("akto"), title="Gestes et postures", price_cents=120_000)


@pytest.fixture
def referencing(make, action, provider):
    return make.referencing(action, provider, price_cents=95_000)


def create(provider, data, actor, today=TODAY) -> TrainingSession:
    session = sessions.create_session(provider, data, actor, today)
    db.session.commit()
    return session


def refused(callable_, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        callable_(*args, **kwargs)
    db.session.rollback()
    return info.value


# --- Creating ---------------------------------------------------------------------------------------------


def test_create_session_copies_price_and_opco_and_derives_dates(provider, actor, action, referencing):
    session = create(provider, session_input(referencing), actor)

    session = fresh(session)
    assert session.status == SessionStatus.DRAFT
    assert session.price_cents == 95_000  # the referencing's price, not the action's ceiling
    assert session.opco_id == action.opco_id and session.action_id == action.id
    assert (session.start_date, session.end_date) == (START, START + timedelta(days=1))
    assert [(s.day, s.half_day, s.start_time, s.end_time) for s in session.slots] == [
        (START, "am", time(9), time(12, 30)),
        (START, "pm", time(13, 30), time(17)),
        (START + timedelta(days=1), "am", time(9), time(12, 30)),
        (START + timedelta(days=1), "pm", time(13, 30), time(17)),
    ]
    assert session.contact_email == "paul.contact@of.test"
    assert session.seats_held == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.created"))
    assert event.organisation_id == provider.id and event.object_id == session.id


def test_create_refused_without_a_referencing_of_ones_own(make, provider, actor, action):
    other = make.referencing(action, make.provider())
    error = refused(sessions.create_session, provider, session_input(other), actor, TODAY)
    assert error.field == "referencing_id"
    assert "référencé" in error.message
    assert db.session.scalar(select(TrainingSession.id)) is None


@pytest.mark.parametrize("status, word", [("suspended", "suspendu"), ("withdrawn", "retiré")])
def test_create_refused_when_referencing_not_active(make, provider, actor, action, status, word):
    referencing = make.referencing(action, provider, status=status)
    error = refused(sessions.create_session, provider, session_input(referencing), actor, TODAY)
    assert f"Votre référencement sur « Gestes et postures » est {word}" in error.message


def test_create_refused_when_referencing_expired_on_the_session_dates(make, provider, actor, action):
    referencing = make.referencing(action, provider, valid_until=START - timedelta(days=1))
    error = refused(sessions.create_session, provider, session_input(referencing), actor, TODAY)
    assert error.field == "slots"
    assert "toutes les dates de la session doivent être comprises dans cette période" in error.message


def test_create_refused_when_action_not_published(make, provider, actor):
    draft = make.action(make.opco("akto"), status="draft", title="Brouillon")
    referencing = make.referencing(draft, provider)
    error = refused(sessions.create_session, provider, session_input(referencing), actor, TODAY)
    assert "n'est pas publiée" in error.message


def test_create_refused_when_qualiopi_expired(make, action):
    expired = make.provider(qualiopi_expires_on=TODAY - timedelta(days=3))
    referencing = make.referencing(action, expired)
    error = refused(
        sessions.create_session, expired, session_input(referencing), expired.memberships[0].user, TODAY
    )
    assert error.message == (
        f"Votre certificat Qualiopi a expiré le {(TODAY - timedelta(days=3)):%d/%m/%Y} : "
        "vous ne pouvez pas ouvrir de session."
    )


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"registration_deadline": START + timedelta(days=1)},
            "registration_deadline",
            "doit être au plus tard le premier jour de la session",
        ),
        ({"registration_deadline": None}, "registration_deadline", "Indiquez la date limite d'inscription."),
        (
            {"capacity_min": 13, "capacity_max": 12},
            "capacity_min",
            "Le nombre minimum de stagiaires (13) ne peut pas dépasser le nombre maximum (12).",
        ),
        ({"capacity_min": 0}, "capacity_min", "au moins 1"),
        ({"slots": []}, "slots", "Indiquez au moins une demi-journée"),
        (
            {"slots": [SlotInput(START, "am"), SlotInput(START, "am", time(8), time(11))]},
            "slots",
            "saisie deux fois",
        ),
        ({"slots": [SlotInput(START, "am", time(11), time(10))]}, "slots", "l'heure de fin doit être après"),
        (
            {"slots": [SlotInput(START, "am", time(9), time(15))]},
            "slots",
            "un matin se termine au plus tard à 14h00",
        ),
        (
            {"slots": [SlotInput(START, "pm", time(10), time(16))]},
            "slots",
            "un après-midi commence au plus tôt",
        ),
        (
            {
                "slots": [
                    SlotInput(START, "am", time(9), time(13, 30)),
                    SlotInput(START, "pm", time(13), time(17)),
                ]
            },
            "slots",
            "l'après-midi commence avant la fin du matin",
        ),
        ({"slots": [SlotInput(None, "am")]}, "slots", "Indiquez le jour"),
        ({"slots": [SlotInput(TODAY, "am")], "registration_deadline": TODAY}, "slots", "après aujourd'hui"),
        ({"address": ""}, "address", "Adresse : ce champ est obligatoire."),
        ({"postal_code": "6900"}, "postal_code", "5 chiffres"),
        (
            {"region_code": "76"},
            "region_code",
            "se trouve dans la région Auvergne-Rhône-Alpes, pas dans la région Occitanie",
        ),
        ({"region_code": "99"}, "region_code", "Choisissez la région"),
        ({"is_remote": True}, "is_remote", "se déroule en présentiel"),
        ({"contact_email": "pas-une-adresse"}, "contact_email", "n'est pas valide"),
    ],
)
def test_create_refused_on_bad_input(provider, actor, referencing, changes, field, message):
    error = refused(sessions.create_session, provider, session_input(referencing, **changes), actor, TODAY)
    assert error.field == field
    assert message in error.message
    assert db.session.scalar(select(TrainingSession.id)) is None


def test_remote_action_needs_no_place(make, provider, actor):
    remote = make.action(make.opco("akto"), modality="distanciel")
    referencing = make.referencing(remote, provider)
    session = create(
        provider, session_input(referencing, address="", postal_code="", city="", region_code=None), actor
    )
    session = fresh(session)
    assert session.is_remote and session.region_code is None and session.city == ""


def test_regional_action_refuses_a_session_elsewhere(make, provider, actor):
    regional = make.action(make.opco("akto"), regions=["11"])
    referencing = make.referencing(regional, provider)
    error = refused(
        sessions.create_session, provider, session_input(referencing, region_code="84"), actor, TODAY
    )
    assert error.field == "region_code"
    assert "n'est ouverte que dans ces régions : Île-de-France" in error.message


# --- Editing ----------------------------------------------------------------------------------------------


def test_update_refuses_capacity_below_seats_held(make, provider, actor, action):
    session = make.session(action, provider, capacity_max=10, capacity_min=1)
    for _ in range(3):
        make.enrolment(session)
    referencing = session.referencing
    data = session_input(
        referencing,
        slots=[SlotInput(s.day, s.half_day, s.start_time, s.end_time) for s in session.slots],
        registration_deadline=session.registration_deadline,
        capacity_min=1,
        capacity_max=2,
    )
    error = refused(sessions.update_session, session, data, actor, TODAY)
    assert error.field == "capacity_max"
    assert error.message == (
        "Vous ne pouvez pas ramener la capacité maximale à 2 : 3 places sont déjà prises par des inscriptions."
    )
    assert fresh(session).capacity_max == 10


def test_update_saves_changes_and_moving_dates_with_enrolments_needs_a_postponement(
    make, provider, actor, action
):
    session = make.session(action, provider, start=START, days=1, capacity_max=10)
    referencing = session.referencing
    same_slots = [SlotInput(s.day, s.half_day, s.start_time, s.end_time) for s in session.slots]
    data = session_input(
        referencing,
        slots=same_slots,
        registration_deadline=START - timedelta(days=3),
        capacity_min=2,
        capacity_max=15,
        city="Villeurbanne",
    )
    sessions.update_session(session, data, actor, TODAY)
    db.session.commit()
    session = fresh(session)
    assert (session.capacity_max, session.city) == (15, "Villeurbanne")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.updated")) is not None

    make.enrolment(session)
    moved = replace(data, slots=[SlotInput(START + timedelta(days=7), "am")])
    error = refused(sessions.update_session, fresh(session), moved, actor, TODAY)
    assert "reportez la session" in error.message


def test_more_seats_are_offered_to_the_waiting_list(make, provider, actor, action, outbox):
    session = make.session(action, provider, start=START, days=1, capacity_max=1, capacity_min=1)
    make.enrolment(session)
    waiting = make.enrolment(session)
    assert waiting.status == EnrolmentStatus.WAITLISTED
    data = session_input(
        session.referencing,
        slots=[SlotInput(s.day, s.half_day, s.start_time, s.end_time) for s in session.slots],
        registration_deadline=session.registration_deadline,
        capacity_min=1,
        capacity_max=2,
    )
    sessions.update_session(fresh(session), data, actor, TODAY)
    db.session.commit()
    assert db.session.get(Enrolment, waiting.id, populate_existing=True).status == EnrolmentStatus.OFFERED


def test_update_refused_once_confirmed(make, provider, actor, action):
    session = make.session(action, provider, status="confirmed")
    data = session_input(session.referencing)
    error = refused(sessions.update_session, session, data, actor, TODAY)
    assert "ne peut plus être modifiée" in error.message


# --- The state machine ------------------------------------------------------------------------------------

ALLOWED_FROM = {
    "publish": {"draft"},
    "close_registrations": {"open"},
    "reopen": {"registrations_closed", "postponed"},
    "confirm": {"open", "registrations_closed", "postponed"},
    "start": {"confirmed"},
    "complete": {"in_progress"},
    "postpone": {"open", "registrations_closed", "confirmed"},
    "cancel": {"draft", "open", "registrations_closed", "confirmed", "postponed"},
}
TARGET = {
    "publish": "open",
    "close_registrations": "registrations_closed",
    "reopen": "open",
    "confirm": "confirmed",
    "start": "in_progress",
    "complete": "completed",
    "postpone": "postponed",
    "cancel": "cancelled",
}
ALL_STATES = list(SessionStatus.LABELS)


@pytest.mark.parametrize("event", list(ALLOWED_FROM))
@pytest.mark.parametrize("state", ALL_STATES)
def test_every_transition_allowed_and_refused(make, provider, actor, action, state, event):
    session = make.session(action, provider, status="open", start=START, days=2, capacity_min=1)
    if event == "confirm":
        make.enrolment(session)  # the minimum (1) is reached
    session = fresh(session)
    session.status = state  # test set-up: put the session in the state under test
    db.session.commit()
    kwargs: dict = {}
    if event == "start":
        kwargs["now"] = datetime.combine(START, time(10))
    if event == "complete":
        kwargs["now"] = datetime.combine(START + timedelta(days=1), time(16))
    if event == "postpone":
        kwargs["new_slots"] = two_days(START + timedelta(days=60))
    if event == "cancel":
        kwargs["reason"] = "Formateur indisponible"

    if state in ALLOWED_FROM[event]:
        sessions.transition(fresh(session), event, actor, **kwargs)
        db.session.commit()
        assert fresh(session).status == TARGET[event]
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == f"session.{event}"))
        assert audit.organisation_id == provider.id
        assert audit.data["from"] == state and audit.data["to"] == TARGET[event]
    else:
        error = refused(sessions.transition, fresh(session), event, actor, **kwargs)
        assert "n'est pas possible quand l'état est" in error.message
        assert f"« {SessionStatus.LABELS[state]} »" in error.message
        assert fresh(session).status == state


def test_unknown_event_is_refused_in_french(make, provider, actor, action):
    session = make.session(action, provider)
    error = refused(sessions.transition, session, "teleport", actor)
    assert error.message == "Cette action n'existe pas pour une session."


def test_confirm_refused_below_minimum(make, provider, actor, action):
    session = make.session(action, provider, capacity_min=3, capacity_max=10)
    make.enrolment(session)
    make.enrolment(session)
    error = refused(sessions.transition, fresh(session), "confirm", actor)
    assert (
        error.message
        == "La session ne peut pas être confirmée : 2 places prises pour un minimum de 3 stagiaires."
    )
    assert fresh(session).status == "open"


def test_confirm_tells_companies_and_trainees(make, provider, actor, action, outbox):
    session = make.session(action, provider, capacity_min=1)
    enrolment = make.enrolment(session)
    contact = enrolment.requested_by.email
    trainee = enrolment.employee.email
    before = len(outbox())
    sessions.transition(fresh(session), "confirm", actor)
    db.session.commit()
    new = outbox()[before:]
    assert sorted(m.recipient for m in new) == sorted([contact, trainee])
    assert all(m.subject.startswith("Session confirmée : Gestes et postures") for m in new)


def test_start_and_complete_wait_for_the_dates(make, provider, actor, action):
    session = make.session(action, provider, status="confirmed", start=START, days=2)
    error = refused(
        sessions.transition,
        session,
        "start",
        actor,
        now=datetime.combine(START - timedelta(days=1), time(10)),
    )
    assert f"La session commence le {START:%d/%m/%Y}" in error.message
    sessions.transition(fresh(session), "start", actor, now=datetime.combine(START, time(8)))
    db.session.commit()
    error = refused(
        sessions.transition, fresh(session), "complete", actor, now=datetime.combine(START, time(16))
    )
    assert "vous pourrez la déclarer réalisée" in error.message


def test_publish_refused_when_qualiopi_expired_or_referencing_suspended(make, provider, actor, action):
    session = make.session(action, provider, status="draft")
    provider.qualiopi_expires_on = TODAY - timedelta(days=1)
    db.session.commit()
    error = refused(sessions.transition, fresh(session), "publish", actor)
    assert "Votre certificat Qualiopi a expiré le" in error.message

    provider.qualiopi_expires_on = TODAY + timedelta(days=300)
    session.referencing.status = "suspended"
    db.session.commit()
    error = refused(sessions.transition, fresh(session), "publish", actor)
    assert "est suspendu" in error.message
    assert fresh(session).status == "draft"


def test_postpone_sets_new_dates_and_tells_everyone(make, provider, actor, action, outbox):
    session = make.session(action, provider, start=START, days=2, capacity_max=2, capacity_min=1)
    company = make.company()
    seated = make.enrolment(
        session, company, make.employee(company, first_name="Inès", email="ines@exemple.test")
    )
    make.enrolment(session, company, make.employee(company, email="autre@exemple.test"))
    waiting = make.enrolment(session, company, make.employee(company, email="attente@exemple.test"))
    assert waiting.status == EnrolmentStatus.WAITLISTED
    # A cancelled enrolment is not told of the new dates.
    gone = make.enrolment(session, company, make.employee(company, email="parti@exemple.test"))
    enrolments.cancel(gone, gone.requested_by)
    db.session.commit()
    before = len(outbox())
    now = utcnow()
    new_start = START + timedelta(days=45)
    old_deadline = fresh(session).registration_deadline

    sessions.transition(
        fresh(session), "postpone", actor, reason="Salle indisponible", new_slots=two_days(new_start), now=now
    )
    db.session.commit()

    session = fresh(session)
    assert session.status == "postponed"
    assert (session.start_date, session.end_date) == (new_start, new_start + timedelta(days=1))
    assert [s.day for s in session.slots] == [
        new_start,
        new_start,
        new_start + timedelta(days=1),
        new_start + timedelta(days=1),
    ]
    assert session.registration_deadline == old_deadline + timedelta(days=45)
    assert session.postponed_at == now
    assert session.status_reason == "Salle indisponible"
    new = outbox()[before:]
    recipients = [m.recipient for m in new]
    assert {"ines@exemple.test", "autre@exemple.test", "attente@exemple.test"} <= set(recipients)
    assert "parti@exemple.test" not in recipients
    assert recipients.count(seated.requested_by.email) == 1
    assert recipients.count(waiting.requested_by.email) == 1
    assert all(m.subject.startswith("Session reportée : Gestes et postures") for m in new)
    contact_mail = next(m for m in new if m.recipient == seated.requested_by.email)
    assert f"Anciennes dates : du {START:%d/%m/%Y}" in contact_mail.body_text
    assert "sans frais" in contact_mail.body_text and "Salle indisponible" in contact_mail.body_text
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "session.postpone"))
    assert audit.data["new_start"] == new_start.isoformat()

    sessions.transition(session, "reopen", actor)
    db.session.commit()
    assert fresh(session).status == "open"


def test_postpone_needs_new_and_different_dates(make, provider, actor, action):
    session = make.session(action, provider, start=START, days=1)
    error = refused(sessions.transition, session, "postpone", actor)
    assert error.message == "Indiquez les nouvelles dates de la session (au moins une demi-journée)."
    same = [SlotInput(START, "am"), SlotInput(START, "pm")]
    error = refused(sessions.transition, fresh(session), "postpone", actor, new_slots=same)
    assert error.message == "Les nouvelles dates sont identiques aux anciennes."
    assert fresh(session).status == "open" and fresh(session).postponed_at is None


def test_cancel_needs_a_reason_and_cancels_every_enrolment(make, provider, actor, action, outbox):
    session = make.session(action, provider, capacity_max=1, capacity_min=1)
    seated = make.enrolment(session)
    waiting = make.enrolment(session)
    error = refused(sessions.transition, fresh(session), "cancel", actor, reason="  ")
    assert error.field == "reason"
    before = len(outbox())

    sessions.transition(fresh(session), "cancel", actor, reason="Nombre d'inscrits insuffisant")
    db.session.commit()

    session = fresh(session)
    assert session.status == "cancelled" and session.seats_held == 0
    assert session.status_reason == "Nombre d'inscrits insuffisant"
    rows = db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)).all()
    assert {e.status for e in rows} == {EnrolmentStatus.SESSION_CANCELLED}
    recipients = {m.recipient for m in outbox()[before:]}
    assert {
        seated.requested_by.email,
        seated.employee.email,
        waiting.requested_by.email,
        waiting.employee.email,
    } <= recipients


# --- Reading ----------------------------------------------------------------------------------------------


def test_sessions_for_provider_counts_and_flags(make, provider, action):
    low = make.session(action, provider, start=START, capacity_min=3, capacity_max=4)
    make.enrolment(low)
    full = make.session(action, provider, start=START + timedelta(days=10), capacity_min=1, capacity_max=1)
    make.enrolment(full)
    make.enrolment(full)  # waiting list
    past = make.session(action, provider, start=TODAY - timedelta(days=20), status="completed")
    make.session(action, make.provider())  # another provider's session never shows

    page = session_pages.sessions_for_provider(provider, today=TODAY)
    assert [r.session.id for r in page.rows] == [low.id, full.id]
    first, second = page.rows
    assert (first.fill_percent, first.below_minimum, first.minimum_reached) == (25, True, False)
    assert (second.fill_percent, second.below_minimum, second.waitlisted) == (100, False, 1)
    assert first.counts == {EnrolmentStatus.CONFIRMED: 1}

    assert [
        r.session.id for r in session_pages.sessions_for_provider(provider, period="past", today=TODAY).rows
    ] == [past.id]
    assert session_pages.sessions_for_provider(provider, period="all", today=TODAY).total == 3
    assert (
        session_pages.sessions_for_provider(provider, status="completed", period="all", today=TODAY).total
        == 1
    )


def test_trainees_are_grouped_and_waiting_list_in_order(make, provider, action):
    session = make.session(action, provider, capacity_max=1, capacity_min=1)
    seated = make.enrolment(session)
    first = make.enrolment(session)
    second = make.enrolment(session)
    groups = session_pages.trainees(fresh(session))
    assert [e.id for e in groups.confirmed] == [seated.id]
    assert [e.id for e in groups.waitlist] == [first.id, second.id]
    assert groups.pending == [] and groups.cancelled == []
    assert session_pages.seats_left(fresh(session)) == 0


# --- Exports ----------------------------------------------------------------------------------------------


@pytest.fixture
def export_session(make, provider, action):
    session = make.session(action, provider, capacity_max=5)
    company = make.company(name="=Entreprise Formule")
    make.enrolment(
        session,
        company,
        make.employee(
            company,
            last_name="Dupré",
            first_name="Élodie",
            email="elodie@exemple.test",
            job_title="Cheffe d'équipe",
        ),
    )
    gone = make.enrolment(
        session, company, make.employee(company, last_name="Secret", email="secret@exemple.test")
    )
    enrolments.cancel(gone, gone.requested_by)  # an employee is erased once no enrolment of theirs is alive
    db.session.commit()
    employees.erase_employee(gone.employee, None)
    db.session.commit()
    return fresh(session)


def test_csv_export_is_for_french_excel(export_session):
    export = exports.SessionTraineesExport(export_session, session_pages.trainees(export_session))
    body = export.to_csv()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    lines = text.split("\r\n")
    assert lines[0] == "Nom;Prénom;E-mail;Fonction;Entreprise;SIRET;État de l'inscription;Date d'inscription"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    by_name = {r[0]: r for r in rows[1:] if r}
    elodie = by_name["DUPRÉ"]
    assert elodie[1:4] == ["Élodie", "elodie@exemple.test", "Cheffe d'équipe"]
    assert elodie[4] == "'=Entreprise Formule"  # never run as a formula
    assert elodie[6] == "Confirmée"
    assert elodie[7] == paris_today().strftime("%d/%m/%Y")
    erased = by_name["Salarié supprimé"]
    assert erased[1:4] == ["", "", ""]
    assert "secret" not in text.lower()
    assert export.filename("csv") == f"session-{export_session.id}-stagiaires.csv"


def test_xlsx_export_opens_with_a_bold_header(export_session):
    export = exports.SessionTraineesExport(export_session, session_pages.trainees(export_session))
    workbook = load_workbook(io.BytesIO(export.to_xlsx()))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    assert header == list(exports.SessionTraineesExport.columns)
    assert all(c.font.bold for c in sheet[1])
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert {v[0] for v in values} == {"DUPRÉ", "Salarié supprimé"}
    elodie = next(v for v in values if v[0] == "DUPRÉ")
    assert elodie[4] == "=Entreprise Formule"  # stored as text
    assert sheet.cell(row=2, column=5).data_type == "s"
    assert elodie[7].date() == paris_today()
    assert sheet.column_dimensions["A"].width >= len("Salarié supprimé")
