"""Company enrolment pages and the OPCO approval queue, through HTTP as a user would use them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Enrolment
from tests.web.pages import count_queries, flashes, text, visible_text


def company_with_hr(make, **kwargs):
    company = make.company(**kwargs)
    hr = make.user()
    make.member(company, hr, "hr")
    return company, hr


def test_enrol_two_employees_and_see_each_outcome(client, login, make, outbox):
    company, hr = company_with_hr(make)
    session = make.session(capacity_max=1)
    alice = make.employee(company, last_name="Durand", first_name="Alice")
    bruno = make.employee(company, last_name="Petit", first_name="Bruno")
    login(client, hr)

    page = client.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire")
    assert page.status_code == 200
    assert "1 place disponible" in text(page)
    assert "Reste à charge" in text(page)

    response = client.post(
        f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
        data={"employee_ids": [str(alice.id), str(bruno.id)]},
    )
    assert response.status_code == 200
    body = visible_text(response)
    assert "Résultat des inscriptions" in body
    assert "DURAND Alice Confirmée" in body
    assert "PETIT Bruno Liste d'attente" in body
    assert [e.status for e in db.session.scalars(select(Enrolment).order_by(Enrolment.id))] == [
        "confirmed",
        "waitlisted",
    ]
    subjects = [m.subject for m in outbox(hr.email)]
    assert any(s.startswith("Inscription confirmée") for s in subjects)
    assert any(s.startswith("Liste d'attente") for s in subjects)


def test_enrol_page_explains_why_not(client, login, make):
    company, hr = company_with_hr(make, headcount=400)
    session = make.session(make.action(shares={"<11": 100}))
    make.employee(company)
    login(client, hr)
    page = text(client.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire"))
    assert "Vous ne pouvez pas inscrire de salarié sur cette session" in page
    assert "n'est pas ouverte aux entreprises de votre taille (300 salariés et plus)" in page


def test_enrol_with_no_employee_chosen_is_a_clear_error(client, login, make):
    company, hr = company_with_hr(make)
    session = make.session()
    make.employee(company)
    login(client, hr)
    response = client.post(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire", data={})
    assert response.status_code == 422
    assert "Choisissez au moins un salarié à inscrire." in text(response)
    assert db.session.scalar(select(Enrolment)) is None


def test_a_session_of_another_opco_is_not_found(client, login, make):
    company, hr = company_with_hr(make, opco_code="akto")
    other = make.session(make.action(make.opco("atlas")))
    login(client, hr)
    assert client.get(f"/entreprise/{company.slug}/sessions/{other.id}/inscrire").status_code == 404


def test_cancel_replace_and_answer_an_offer(client, login, make):
    company, hr = company_with_hr(make)
    session = make.session(capacity_max=1)
    first = make.enrolment(session, company, actor=hr)
    second = make.enrolment(session, company, actor=hr)
    colleague = make.employee(company, last_name="Roux", first_name="Inès")
    login(client, hr)

    replaced = client.post(
        f"/entreprise/{company.slug}/inscriptions/{first.id}/remplacer", data={"employee_id": colleague.id}
    )
    assert replaced.status_code == 303
    assert "Inès Roux remplace désormais la personne inscrite." in flashes(
        client.get(replaced.headers["Location"])
    )

    cancelled = client.post(f"/entreprise/{company.slug}/inscriptions/{first.id}/annuler")
    assert cancelled.status_code == 303
    assert db.session.get(Enrolment, first.id).status == "cancelled"
    detail = text(client.get(f"/entreprise/{company.slug}/inscriptions/{second.id}"))
    assert "Une place vous est proposée" in detail

    accepted = client.post(f"/entreprise/{company.slug}/inscriptions/{second.id}/accepter")
    assert accepted.status_code == 303
    assert db.session.get(Enrolment, second.id).status == "confirmed"


def test_late_cancellation_is_allowed_but_flagged(client, login, make):
    company, hr = company_with_hr(make)
    soon = paris_today() + timedelta(days=2)
    session = make.session(make.action(cancellation_days=10), start=soon, registration_deadline=paris_today())
    enrolment = make.enrolment(session, company, actor=hr)
    login(client, hr)
    detail = text(client.get(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}"))
    assert "La date limite d'annulation sans frais" in detail and "est passée" in detail
    response = client.post(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}/annuler")
    messages = flashes(client.get(response.headers["Location"]))
    assert any("Annulation hors délai" in m for m in messages)
    assert db.session.get(Enrolment, enrolment.id).is_late_cancellation is True


def test_a_viewer_cannot_enrol(client, login, make):
    company = make.company()
    viewer = make.user()
    make.member(company, viewer, "viewer")
    session = make.session()
    login(client, viewer)
    assert client.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire").status_code == 403


def test_opco_approval_queue(client, login, make, outbox):
    akto = make.opco("akto")
    staff = make.user()
    make.member(akto, staff, "catalogue_manager")
    session = make.session(make.action(akto, requires_approval=True, title="Sécurité incendie"))
    company, hr = company_with_hr(make)
    pending = make.enrolment(session, company, actor=hr)
    other = make.enrolment(session, company, actor=hr)
    login(client, staff)

    queue = text(client.get(f"/opco/{akto.slug}/validations"))
    assert "Sécurité incendie" in queue and company.name in queue

    assert client.post(f"/opco/{akto.slug}/inscriptions/{pending.id}/valider").status_code == 303
    assert db.session.get(Enrolment, pending.id).status == "confirmed"

    no_reason = client.post(f"/opco/{akto.slug}/inscriptions/{other.id}/refuser", data={"reason": ""})
    assert no_reason.status_code == 422  # the queue again, with the refusal at the top
    assert "Indiquez le motif du refus" in " ".join(flashes(no_reason))
    assert db.session.get(Enrolment, other.id).status == "pending_approval"
    client.post(
        f"/opco/{akto.slug}/inscriptions/{other.id}/refuser", data={"reason": "Hors priorités de la branche"}
    )
    assert db.session.get(Enrolment, other.id).status == "refused"
    assert any("Hors priorités de la branche" in m.body_text for m in outbox(hr.email))


def test_another_opco_cannot_decide(client, login, make):
    atlas = make.opco("atlas")
    staff = make.user()
    make.member(atlas, staff, "admin")
    session = make.session(make.action(make.opco("akto"), requires_approval=True))
    enrolment = make.enrolment(session)
    login(client, staff)
    assert client.post(f"/opco/{atlas.slug}/inscriptions/{enrolment.id}/valider").status_code == 404
    assert db.session.get(Enrolment, enrolment.id).status == "pending_approval"


def _count_queries(app, call):
    with count_queries() as statements:
        response = call()
    assert response.status_code == 200
    return len(statements)


def test_enrolment_list_runs_a_constant_number_of_queries(app, client, login, make):
    company, hr = company_with_hr(make)
    login(client, hr)
    sessions = [make.session(capacity_max=50) for _ in range(2)]
    for s in sessions:
        make.enrolment(s, company, actor=hr)
    few = _count_queries(app, lambda: client.get(f"/entreprise/{company.slug}/inscriptions"))
    for s in [make.session(capacity_max=50) for _ in range(6)]:
        for _ in range(3):
            make.enrolment(s, company, actor=hr)
    many = _count_queries(app, lambda: client.get(f"/entreprise/{company.slug}/inscriptions"))
    assert many == few


def test_opco_sets_the_waiting_list_offer_window(client, login, make):
    akto = make.opco("akto")
    staff = make.user()
    make.member(akto, staff, "catalogue_manager")
    login(client, staff)
    bad = client.post(f"/opco/{akto.slug}/parametres", data={"waitlist_offer_hours": "500"})
    assert bad.status_code == 422
    assert "entre 1 heure et 168 heures" in text(bad)
    assert (
        client.post(f"/opco/{akto.slug}/parametres", data={"waitlist_offer_hours": "24"}).status_code == 303
    )
    db.session.expire_all()
    assert db.session.get(type(akto), akto.id).waitlist_offer_hours == 24

    # The next offer gives the company 24 hours.
    company, hr = company_with_hr(make)
    session = make.session(make.action(akto), capacity_max=1)
    first = make.enrolment(session, company, actor=hr)
    second = make.enrolment(session, company, actor=hr)
    from marketplace.services import enrolments

    # On a Tuesday at 10:00 (Paris), 24 working hours later is Wednesday at 10:00.
    tuesday = datetime(2026, 12, 1, 9, 0)
    enrolments.cancel(db.session.get(Enrolment, first.id), hr, now=tuesday)
    db.session.commit()
    offer = db.session.get(Enrolment, second.id)
    assert offer.offer_expires_at == tuesday + timedelta(hours=24)
