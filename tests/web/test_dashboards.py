"""Each dashboard shows the figures its users act on first."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import Enrolment
from marketplace.services import enrolments
from tests.web.pages import visible_text


def test_company_dashboard_shows_upcoming_sessions_waiting_list_and_offers(client, login, make):
    company = make.company()
    hr = make.user()
    make.member(company, hr, "admin")
    session = make.session(make.action(title="Gestes et postures"), capacity_max=1)
    first = make.enrolment(
        session, company, make.employee(company, last_name="Aubert", first_name="Jade"), actor=hr
    )
    second = make.enrolment(
        session, company, make.employee(company, last_name="Blanc", first_name="Hugo"), actor=hr
    )
    make.enrolment(session, company, make.employee(company, last_name="Colin", first_name="Lou"), actor=hr)
    login(client, hr)

    page = visible_text(client.get(f"/entreprise/{company.slug}/"))
    assert "Prochaines sessions" in page and "Gestes et postures" in page and "AUBERT Jade" in page
    assert "Hugo Blanc — Gestes et postures : position 1" in page
    assert "Lou Colin — Gestes et postures : position 2" in page

    enrolments.cancel(db.session.get(Enrolment, first.id), hr)
    db.session.commit()
    page = visible_text(client.get(f"/entreprise/{company.slug}/"))
    assert "Places proposées à accepter" in page
    assert "Hugo Blanc — Gestes et postures" in page and "à accepter avant le" in page
    assert second.id


def test_provider_dashboard_flags_sessions_below_minimum(client, login, make):
    admin = make.user()
    provider = make.provider(admin=admin)
    action = make.action(title="Management d'équipe")
    full = make.session(action, provider, capacity_min=1, capacity_max=2)
    make.session(action, provider, capacity_min=4, capacity_max=8)
    make.enrolment(full)
    login(client, admin)
    page = visible_text(client.get(f"/of/{provider.slug}/"))
    assert "1 session sous le minimum d'inscrits" in page
    assert "1 / 2 (50 %)" in page and "0 / 8 (0 %)" in page and "sous le minimum de 4" in page


def test_opco_dashboard_shows_fill_rates_and_approvals(client, login, make):
    akto = make.opco("akto")
    staff = make.user()
    make.member(akto, staff, "admin")
    session = make.session(
        make.action(akto, requires_approval=True, title="Hygiène alimentaire"), capacity_max=4
    )
    make.enrolment(session)
    login(client, staff)
    page = visible_text(client.get(f"/opco/{akto.slug}/"))
    assert "1 inscription à valider" in page
    assert "Hygiène alimentaire" in page and "1 / 4 (25 %)" in page


def test_provider_dashboard_lists_its_referencings(client, login, make):
    admin = make.user()
    provider = make.provider(admin=admin)
    atlas = make.opco("atlas")
    make.referencing(
        make.action(atlas, title="Cybersécurité : les bons réflexes"), provider, price_cents=33_000
    )
    make.referencing(make.action(title="Excel perfectionnement"), provider, status="suspended")
    login(client, admin)
    page = visible_text(client.get(f"/of/{provider.slug}/"))
    assert "Vos référencements" in page
    assert (
        "Cybersécurité : les bons réflexes" in page
        and "ATLAS" in page
        and "330,00 € HT par stagiaire" in page
    )
    assert "Excel perfectionnement" in page and "Suspendu" in page


def test_provider_dashboard_without_referencing_points_to_the_tenders(client, login, make):
    admin = make.user()
    provider = make.provider(admin=admin)
    login(client, admin)
    page = visible_text(client.get(f"/of/{provider.slug}/"))
    assert "Vous n'êtes référencé sur aucune action collective" in page
