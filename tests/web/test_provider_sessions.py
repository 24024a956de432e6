"""The training organisation's session pages: list, create, edit, detail, state changes, exports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Enrolment, EnrolmentStatus, TrainingSession
from tests.web.pages import count_queries, flashes, text, visible_text

TODAY = paris_today()
START = TODAY + timedelta(days=30)


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def admin(provider):
    return provider.memberships[0].user


@pytest.fixture
def action(make):
    return make.action(make.opco("akto"), title="Gestes et postures", duration_hours="7")


@pytest.fixture
def referencing(make, action, provider):
    return make.referencing(action, provider, price_cents=90_000)


@pytest.fixture
def signed_in(client, login, admin):
    login(client, admin)
    return client


def url(provider, path: str = "") -> str:
    return f"/of/{provider.slug}/sessions{path}"


def form_data(referencing_id, **changes) -> dict:
    data = {
        "referencing_id": str(referencing_id),
        "slots-0-day": START.isoformat(),
        "slots-0-half_day": "am",
        "slots-0-start_time": "09:00",
        "slots-0-end_time": "12:30",
        "slots-1-day": START.isoformat(),
        "slots-1-half_day": "pm",
        "slots-1-start_time": "",
        "slots-1-end_time": "",
        # rows 2 to 9 left empty: ignored
        **{f"slots-{i}-half_day": "am" for i in range(2, 10)},
        "address": "12 rue des Formations",
        "postal_code": "69003",
        "city": "Lyon",
        "region_code": "84",
        "capacity_min": "4",
        "capacity_max": "12",
        "registration_deadline": (START - timedelta(days=7)).isoformat(),
        "trainer_names": "Claire Formatrice",
        "contact_name": "Paul Contact",
        "contact_email": "paul@of.test",
        "contact_phone": "",
        "notes": "",
    }
    data.update(changes)
    return data


# --- List ---------------------------------------------------------------------------------------------------


def test_list_shows_own_sessions_with_fill_and_minimum(make, signed_in, provider, action):
    low = make.session(action, provider, start=START, capacity_min=3, capacity_max=4, city="Villeurbanne")
    make.enrolment(low)
    make.session(make.action(make.opco("akto"), title="Action d'un autre"), make.provider())

    response = signed_in.get(url(provider))

    assert response.status_code == 200
    page = visible_text(response)
    assert "Gestes et postures" in page and "Villeurbanne" in page
    assert "1 / 4 (25 %)" in page
    assert "Non atteint (3 minimum)" in page
    assert "Inscriptions ouvertes" in page
    assert "Action d'un autre" not in page
    assert "HX-Request" in response.headers.get("Vary", "")


def test_list_filters_by_period_and_answers_htmx_with_the_rows(make, signed_in, provider, action):
    make.session(action, provider, start=TODAY - timedelta(days=40), status="completed", city="Passéville")
    make.session(action, provider, start=START, city="Futurville")

    upcoming = visible_text(signed_in.get(url(provider)))
    assert "Futurville" in upcoming and "Passéville" not in upcoming
    response = signed_in.get(url(provider, "?period=past"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<h1>" not in text(response)
    assert "Passéville" in visible_text(response) and "Futurville" not in visible_text(response)
    # Going back in the browser after htmx pushed the URL: htmx asks again for the whole page.
    response = signed_in.get(
        url(provider, "?period=past"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<h1>Vos sessions</h1>" in text(response) and "Passéville" in visible_text(response)


def _count_queries(client, path: str) -> int:
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_list_runs_a_constant_number_of_queries(make, signed_in, provider, action):
    def add_sessions(number: int) -> None:
        for i in range(number):
            session = make.session(action, provider, start=START + timedelta(days=i), capacity_max=3)
            if i % 3 == 0:
                make.enrolment(session)

    add_sessions(3)
    signed_in.get(url(provider))  # warm up (first request loads reference data, templates…)
    few = _count_queries(signed_in, url(provider, "?period=all"))
    add_sessions(27)
    many = _count_queries(signed_in, url(provider, "?period=all"))
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 30
    assert many == few


# --- Create -------------------------------------------------------------------------------------------------


def test_create_session_through_the_form(signed_in, provider, referencing, make):
    other = make.referencing(make.action(make.opco("akto"), title="Réservée à un autre"), make.provider())
    page = signed_in.get(url(provider, "/nouvelle"))
    assert page.status_code == 200
    body = text(page)
    assert "Gestes et postures" in body and "Réservée à un autre" not in body
    assert body.count('name="slots-') >= 40  # ten rows of four inputs

    response = signed_in.post(url(provider, "/nouvelle"), data=form_data(referencing.id))

    assert response.status_code == 303, visible_text(response)
    session = db.session.scalar(select(TrainingSession))
    assert response.headers["Location"].endswith(url(provider, f"/{session.id}"))
    assert session.status == "draft" and session.price_cents == 90_000
    assert [(s.half_day, s.start_time.strftime("%H:%M")) for s in session.slots] == [
        ("am", "09:00"),
        ("pm", "13:30"),
    ]
    # Choosing another provider's referencing (forged form) is refused.
    response = signed_in.post(url(provider, "/nouvelle"), data=form_data(other.id))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 1


def test_create_form_shows_rule_errors_next_to_the_half_days(signed_in, provider, referencing):
    data = form_data(referencing.id, **{"slots-0-end_time": "15:00"})
    response = signed_in.post(url(provider, "/nouvelle"), data=data)
    assert response.status_code == 422
    assert "un matin se termine au plus tard à 14h00" in visible_text(response)
    assert db.session.scalar(select(TrainingSession.id)) is None

    data = form_data(referencing.id, capacity_min="20")
    response = signed_in.post(url(provider, "/nouvelle"), data=data)
    assert response.status_code == 422
    assert (
        "Le nombre minimum de stagiaires (20) ne peut pas dépasser le nombre maximum (12)."
        in visible_text(response)
    )

    data = form_data(referencing.id, **{"slots-3-day": "pas une date"})
    response = signed_in.post(url(provider, "/nouvelle"), data=data)
    assert response.status_code == 422
    assert "Demi-journée, ligne 4" in visible_text(response)


def test_create_refused_when_qualiopi_expired(make, client, login, action):
    expired = make.provider(qualiopi_expires_on=TODAY - timedelta(days=2))
    referencing = make.referencing(action, expired)
    login(client, expired.memberships[0].user)
    page = client.get(url(expired, "/nouvelle"))
    assert "Votre certificat Qualiopi a expiré le" in visible_text(page)
    response = client.post(url(expired, "/nouvelle"), data=form_data(referencing.id))
    assert response.status_code == 422
    assert "vous ne pouvez pas ouvrir de session" in visible_text(response)
    assert db.session.scalar(select(TrainingSession.id)) is None


def test_a_trainer_reads_sessions_but_cannot_create_them(make, client, login, provider, action):
    trainer = make.user()
    make.member(provider, trainer, "trainer")
    make.session(action, provider)
    login(client, trainer)
    assert client.get(url(provider)).status_code == 200
    assert "Créer une session" not in visible_text(client.get(url(provider)))
    assert client.get(url(provider, "/nouvelle")).status_code == 403


# --- Edit ---------------------------------------------------------------------------------------------------


def test_edit_refuses_capacity_below_seats_held(make, signed_in, provider, action):
    session = make.session(action, provider, start=START, days=1, capacity_max=10, capacity_min=1)
    for _ in range(3):
        make.enrolment(session)
    page = signed_in.get(url(provider, f"/{session.id}/modifier"))
    assert page.status_code == 200
    assert f'value="{START.isoformat()}"' in text(page)

    data = form_data(
        None,
        capacity_min="1",
        capacity_max="2",
        **{"slots-0-end_time": "12:30", "slots-1-start_time": "13:30", "slots-1-end_time": "17:00"},
    )
    data.pop("referencing_id")
    data["registration_deadline"] = (START - timedelta(days=7)).isoformat()
    response = signed_in.post(url(provider, f"/{session.id}/modifier"), data=data)

    assert response.status_code == 422
    assert "Vous ne pouvez pas ramener la capacité maximale à 2 : 3 places sont déjà prises" in visible_text(
        response
    )
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).capacity_max == 10

    data["capacity_max"] = "5"
    response = signed_in.post(url(provider, f"/{session.id}/modifier"), data=data)
    assert response.status_code == 303
    assert db.session.get(TrainingSession, session.id).capacity_max == 5


# --- Detail, transitions, exports ---------------------------------------------------------------------------


def test_detail_shows_trainees_by_state_and_only_allowed_actions(make, signed_in, provider, action):
    session = make.session(action, provider, capacity_max=1, capacity_min=1)
    company = make.company(name="Boulangerie Martin")
    make.enrolment(session, company, make.employee(company, last_name="Durand", first_name="Léa"))
    make.enrolment(session, company, make.employee(company, last_name="Petit", first_name="Hugo"))

    response = signed_in.get(url(provider, f"/{session.id}"))

    assert response.status_code == 200
    page = visible_text(response)
    assert "Inscriptions confirmées (1) " in page and "DURAND Léa" in page and "Boulangerie Martin" in page
    assert "Liste d'attente (1)" in page and "PETIT Hugo" in page
    assert "0 place disponible" in page
    assert "1 minimum : atteint" in page
    for label in (
        "Clore les inscriptions",
        "Confirmer la session",
        "Reporter la session",
        "Annuler la session",
    ):
        assert label in page
    assert "Ouvrir les inscriptions" not in page and "Démarrer la session" not in page
    assert f"/sessions/{session.id}/stagiaires.csv" in page or "stagiaires.csv" in text(response)


def test_transition_buttons_change_the_state_or_explain_why_not(make, signed_in, provider, action):
    session = make.session(action, provider, status="draft", capacity_min=2)
    response = signed_in.post(
        url(provider, f"/{session.id}/etat"), data={"event": "publish"}, follow_redirects=True
    )
    assert "Les inscriptions sont ouvertes" in " ".join(flashes(response))
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).status == "open"

    response = signed_in.post(
        url(provider, f"/{session.id}/etat"), data={"event": "confirm"}, follow_redirects=True
    )
    assert flashes(response) == [
        "La session ne peut pas être confirmée : 0 place prise pour un minimum de 2 stagiaires."
    ]
    response = signed_in.post(
        url(provider, f"/{session.id}/etat"), data={"event": "start"}, follow_redirects=True
    )
    assert "n'est pas possible quand l'état est « Inscriptions ouvertes »" in flashes(response)[0]
    response = signed_in.post(url(provider, f"/{session.id}/etat"), data={"event": "n'importe quoi"})
    assert response.status_code == 303
    assert db.session.get(TrainingSession, session.id).status == "open"
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "session.publish"))
        == 1
    )


def test_postpone_page_sets_new_dates_and_notifies(make, signed_in, provider, action, outbox):
    session = make.session(action, provider, start=START, days=1)
    enrolment = make.enrolment(session)
    page = signed_in.get(url(provider, f"/{session.id}/reporter"))
    assert page.status_code == 200
    new_day = START + timedelta(days=21)
    data = {
        "slots-0-day": new_day.isoformat(),
        "slots-0-half_day": "am",
        "slots-0-start_time": "",
        "slots-0-end_time": "",
        "slots-1-day": new_day.isoformat(),
        "slots-1-half_day": "pm",
        "slots-1-start_time": "",
        "slots-1-end_time": "",
        "reason": "Formateur malade",
    }

    response = signed_in.post(url(provider, f"/{session.id}/reporter"), data=data)

    assert response.status_code == 303
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert (
        session.status == "postponed" and session.start_date == new_day and session.postponed_at is not None
    )
    subjects = {m.recipient: m.subject for m in outbox()}
    assert subjects[enrolment.requested_by.email].startswith("Session reportée")
    assert subjects[enrolment.employee.email].startswith("Session reportée")

    response = signed_in.post(url(provider, f"/{session.id}/reporter"), data=data, follow_redirects=True)
    assert "n'est pas possible pour une session « Reportée »" in " ".join(flashes(response))


def test_cancel_page_needs_a_reason_then_cancels_enrolments(make, signed_in, provider, action, outbox):
    session = make.session(action, provider)
    enrolment = make.enrolment(session)
    page = signed_in.get(url(provider, f"/{session.id}/annuler"))
    assert "1 inscription en cours sur cette session sera annulée" in visible_text(page)

    response = signed_in.post(url(provider, f"/{session.id}/annuler"), data={"reason": ""})
    assert response.status_code == 422
    assert "Indiquez le motif de l'annulation." in visible_text(response)

    response = signed_in.post(url(provider, f"/{session.id}/annuler"), data={"reason": "Salle inondée"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).status == "cancelled"
    assert db.session.get(Enrolment, enrolment.id).status == EnrolmentStatus.SESSION_CANCELLED
    assert any("Salle inondée" in m.body_text for m in outbox(enrolment.requested_by.email))


def test_exports_download_csv_and_xlsx(make, signed_in, provider, action):
    session = make.session(action, provider)
    company = make.company()
    make.enrolment(session, company, make.employee(company, last_name="Durand", first_name="Léa"))

    response = signed_in.get(url(provider, f"/{session.id}/stagiaires.csv"))
    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="session-{session.id}-stagiaires.csv"'
    )
    assert response.data.startswith(b"\xef\xbb\xbfNom;Pr")
    assert "DURAND;Léa" in response.data.decode("utf-8-sig")

    response = signed_in.get(url(provider, f"/{session.id}/stagiaires.xlsx"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'session-{session.id}-stagiaires.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "Nom" and sheet["A2"].value == "DURAND"


def test_exports_are_streamed_in_the_order_of_the_page(make, signed_in, provider, action, monkeypatch):
    """The file leaves in several chunks while the rows are read (memory stays flat whatever the rows),
    with one charset in its Content-Type, and lists the trainees as the session's page does."""
    from marketplace.services import enrolments, export_writer, session_pages
    from marketplace.services.identifiers import format_siret

    monkeypatch.setattr(export_writer, "BATCH_ROWS", 1)
    session = make.session(action, provider, capacity_max=2)
    company = make.company(name="Atelier Zéphyr")
    names = ["Martin", "Bernard", "Petit", "Durand", "Leroy"]
    made = [make.enrolment(session, company, make.employee(company, last_name=n)) for n in names]
    enrolments.cancel(made[2], made[2].requested_by)
    db.session.commit()
    expected = [e.employee.last_name.upper() for e in session_pages.trainees(session).all]
    assert expected == ["BERNARD", "MARTIN", "DURAND", "LEROY", "PETIT"]  # confirmed, waiting list, cancelled

    response = signed_in.get(url(provider, f"/{session.id}/stagiaires.csv"))
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    chunks = list(response.response)
    assert len(chunks) == 1 + len(names)  # the header, then one chunk per row
    lines = b"".join(chunks).decode("utf-8-sig").split("\r\n")
    assert [line.split(";")[0] for line in lines[1:-1]] == expected
    assert lines[1].split(";")[4:7] == ["Atelier Zéphyr", format_siret(company.siret), "Confirmée"]

    response = signed_in.get(url(provider, f"/{session.id}/stagiaires.xlsx"))
    assert response.is_streamed
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    chunks = list(response.response)
    assert len(chunks) >= 2  # the zip's head leaves before the rows are read (see test_export_writer)
    sheet = load_workbook(io.BytesIO(b"".join(chunks))).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == expected
    assert sheet["G6"].value == "Annulée par l'entreprise"


def test_another_providers_session_is_not_found(make, signed_in, provider, action):
    foreign = make.session(action, make.provider())
    for path in ("", "/modifier", "/reporter", "/annuler", "/stagiaires.csv", "/stagiaires.xlsx"):
        assert signed_in.get(url(provider, f"/{foreign.id}{path}")).status_code == 404
    assert signed_in.post(url(provider, f"/{foreign.id}/etat"), data={"event": "cancel"}).status_code == 404
