"""The company's catalogue pages: search with filters (page or htmx fragment), figures, reasons, detail, 404s."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.services.search import fold
from tests.web.pages import count_queries, text, visible_text

TODAY = paris_today()


def fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def url(company, path="", **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/entreprise/{company.slug}/catalogue{path}" + (f"?{query}" if query else "")


@pytest.fixture
def admin(make):
    return make.user(email="rh@menuiserie.fr", full_name="Rose RH")


@pytest.fixture
def company(make, admin):
    return make.company("akto", admin=admin, name="Menuiserie Durand", headcount=120)


@pytest.fixture
def signed_in(client, login, admin, company):
    login(client, admin)
    return company


def searchable(action):
    action.search_text = fold(f"{action.reference} {action.title} {action.objectives}")
    db.session.commit()
    return action


def test_results_show_what_the_session_costs_this_company(client, make, signed_in):
    akto = make.opco("akto")
    action = make.action(
        akto,
        title="Sécurité électrique",
        price_cents=80_000,
        duration_hours="14",
        shares={"<11": 100, "11-49": 100, "50-249": 50},
    )
    start = TODAY + timedelta(days=20)
    make.session(
        action,
        make.provider(name="Institut Volta", vat_regime="assujetti"),
        start=start,
        days=2,
        city="Grenoble",
        capacity_max=8,
    )
    make.session(make.action(akto, title="Anglais à distance", modality="distanciel"), is_remote=True)

    response = client.get(url(signed_in))

    assert response.status_code == 200
    page = visible_text(response)
    assert "Catalogue des formations financées" in page
    assert "2 sessions trouvées." in page
    assert "Sécurité électrique" in page and "Institut Volta" in page
    assert f"du {fr(start)} au {fr(start + timedelta(days=1))}" in page
    assert "Grenoble" in page and "À distance" in page
    assert "Présentiel · 14 h" in page.replace("\u00a0", " ")
    assert "8 places disponibles" in page
    money = page.replace("\u202f", " ").replace("\u00a0", " ")
    assert "Prix par stagiaire 800,00 € HT" in money
    assert "Prise en charge OPCO 400,00 € HT (50 %)" in money
    # The OPCO funds the HT price: the company owes the rest of the 960 € TTC, VAT on the whole price included.
    assert "Reste à charge 400,00 € HT · 560,00 € TTC" in money
    assert "Inscrire des salariés" in page
    body = text(response)
    assert (
        'hx-get="/entreprise/' in body and 'hx-target="#resultats"' in body and 'hx-push-url="true"' in body
    )
    assert '<label for="q">Rechercher</label>' in body
    assert "<fieldset>" in body and "<legend>Filtres</legend>" in body
    assert '<button type="submit">Rechercher</button>' in body
    assert re.search(r'href="/entreprise/[^"]+/sessions/\d+/inscrire"', body)
    assert response.headers.get("Vary") and "HX-Request" in response.headers["Vary"]


def test_small_company_pays_nothing_at_100_percent(client, make, login):
    admin = make.user()
    small = make.company("akto", admin=admin, headcount=4)
    make.session(make.action(make.opco("akto"), price_cents=50_000, shares={"<11": 100}))
    login(client, admin)

    page = visible_text(client.get(url(small))).replace("\u202f", " ").replace("\u00a0", " ")

    assert "Prise en charge OPCO 500,00 € HT (100 %)" in page
    assert "Reste à charge 0,00 € HT" in page
    assert "TTC" not in page.split("Reste à charge")[1][:40]  # an exempt provider: no VAT line


def test_filters_in_the_url_narrow_the_list_and_are_kept_in_the_form(client, make, signed_in):
    akto = make.opco("akto")
    make.session(make.action(akto, title="Comptabilité", theme_code="31"), region_code="11", city="Paris")
    make.session(make.action(akto, title="Soudure", theme_code="25"), region_code="84", city="Lyon")
    searchable(make.action(akto, title="Sécurité incendie"))

    page = visible_text(client.get(url(signed_in, theme="25")))
    assert "Soudure" in page and "Comptabilité" not in page

    page = visible_text(client.get(url(signed_in, region="11")))
    assert "Comptabilité" in page and "Soudure" not in page

    response = client.get(url(signed_in, q="comptabilite", sort="title", seats_only="1"))
    body = text(response)
    assert 'value="comptabilite"' in body
    assert re.search(r'<option selected value="title">|<option value="title" selected>', body)
    assert re.search(r'id="seats_only"[^>]*checked|checked[^>]*id="seats_only"', body)


def test_pagination_keeps_the_filters(client, make, signed_in):
    action = make.action(make.opco("akto"), title="Management", theme_code="31")
    for offset in range(23):
        make.session(action, start=TODAY + timedelta(days=10 + offset))

    response = client.get(url(signed_in, theme="31"))
    page = visible_text(response)
    assert "23 sessions trouvées · page 1 sur 2." in page
    body = text(response)
    link = re.search(r'href="(/entreprise/[^"]+/catalogue\?[^"]*page=2[^"]*)"', body)
    assert link and "theme=31" in link.group(1)
    second = visible_text(client.get(link.group(1)))
    assert "page 2 sur 2" in second and second.count("Management") >= 3


def test_empty_state_says_what_to_change(client, make, signed_in):
    make.session(make.action(make.opco("akto"), title="Excel"), region_code="84")

    page = visible_text(client.get(url(signed_in, q="introuvable", region="11", seats_only="1")))

    assert "Aucune session ne correspond à votre recherche." in page
    assert "retirez un mot de la recherche « introuvable »" in page
    assert "décochez « Seulement les sessions avec des places disponibles »" in page
    assert "choisissez « Toutes les régions »" in page
    assert "Voir toutes les sessions à venir" in page


def test_nothing_published_yet(client, make, signed_in):
    page = visible_text(client.get(url(signed_in)))
    assert "AKTO n'a pas encore publié de session à venir" in page


def test_company_without_opco_is_told_why(client, make, login):
    admin = make.user()
    orphan = make.company(None, admin=admin)
    login(client, admin)

    response = client.get(url(orphan))

    assert response.status_code == 200
    assert "n'est rattachée à aucun OPCO de la plateforme" in visible_text(response)


def test_reasons_why_the_company_cannot_enrol(client, make, signed_in):
    akto = make.opco("akto")
    other_idcc = [c for c in akto.idcc_codes if c != signed_in.idcc]
    make.session(make.action(akto, title="Réservée", idcc_codes=other_idcc))
    deadline = TODAY - timedelta(days=1)
    make.session(
        make.action(akto, title="Trop tard"), start=TODAY + timedelta(days=2), registration_deadline=deadline
    )
    full = make.session(make.action(akto, title="Complète"), capacity_max=1)
    make.enrolment(full)

    page = visible_text(client.get(url(signed_in)))

    assert "Inscription impossible Cette action est réservée à d'autres branches que la vôtre" in page
    assert f"La date limite d'inscription ({fr(deadline)}) est dépassée." in page
    assert "Complet — liste d'attente" in page
    assert "Les salariés inscrits rejoindront la liste d'attente." in page


def test_a_viewer_sees_the_catalogue_but_no_enrol_link(client, make, login, company):
    viewer = make.user()
    make.member(company, viewer, "viewer")
    make.session(make.action(make.opco("akto"), title="Excel"))
    login(client, viewer)

    response = client.get(url(company))

    assert response.status_code == 200
    assert "Excel" in visible_text(response)
    assert "Votre rôle ne permet pas d'inscrire des salariés" in visible_text(response)
    assert "/inscrire" not in text(response)


def test_sessions_of_another_opco_are_never_listed_and_their_detail_is_404(client, make, signed_in):
    mine = make.session(make.action(make.opco("akto"), title="Chez AKTO"))
    theirs = make.session(make.action(make.opco("atlas"), title="Chez ATLAS"))

    page = visible_text(client.get(url(signed_in)))
    assert "Chez AKTO" in page and "Chez ATLAS" not in page
    assert "Chez ATLAS" not in visible_text(client.get(url(signed_in, q="atlas")))
    assert client.get(url(signed_in, f"/sessions/{theirs.id}")).status_code == 404
    assert client.get(url(signed_in, "/sessions/999999")).status_code == 404
    assert client.get(url(signed_in, f"/sessions/{mine.id}")).status_code == 200


def test_draft_session_detail_is_404(client, make, signed_in):
    draft = make.session(make.action(make.opco("akto")), status="draft")
    assert client.get(url(signed_in, f"/sessions/{draft.id}")).status_code == 404


def test_session_detail(client, make, signed_in):
    action = make.action(
        make.opco("akto"),
        title="Gestes et postures",
        price_cents=60_000,
        shares={"50-249": 50},
        objectives="Prévenir les troubles musculo-squelettiques.",
    )
    action.programme = "Matin : anatomie.\nAprès-midi : ateliers."
    action.prerequisites = "Aucun prérequis."
    action.target_public = "Opérateurs de production."
    db.session.commit()
    start = TODAY + timedelta(days=40)
    session = make.session(
        action, make.provider(name="Atelier Prévention"), start=start, days=1, city="Nantes", capacity_max=6
    )

    response = client.get(url(signed_in, f"/sessions/{session.id}"))

    assert response.status_code == 200
    page = visible_text(response).replace("\u202f", " ").replace("\u00a0", " ")
    for expected in [
        "Gestes et postures",
        "Atelier Prévention",
        "Prévenir les troubles musculo-squelettiques.",
        "Matin : anatomie.",
        "Aucun prérequis.",
        "Opérateurs de production.",
        "6 places disponibles",
        f"{fr(start)} Matin 09h00 – 12h30",
        f"{fr(start)} Après-midi 13h30 – 17h00",
        "10 rue de la Formation, 69003 Nantes",
        "Claire Formatrice",
        "Paul Contact",
        "contact@of.test",
        "Prix de la formation 600,00 € HT",
        "Prise en charge OPCO (50 %) 300,00 € HT",
        "Reste à charge 300,00 € HT",
        "Inscrire des salariés",
        f"Date limite d'inscription : {fr(start - timedelta(days=7))}",
    ]:
        assert expected in page, expected


def test_session_detail_lists_every_reason(client, make, signed_in):
    akto = make.opco("akto")
    action = make.action(
        akto, shares={"<11": 100}, idcc_codes=[c for c in akto.idcc_codes if c != signed_in.idcc]
    )
    session = make.session(
        action, start=TODAY + timedelta(days=3), registration_deadline=TODAY - timedelta(days=2)
    )

    page = visible_text(client.get(url(signed_in, f"/sessions/{session.id}")))

    assert "Votre entreprise ne peut pas inscrire de salarié sur cette session" in page
    assert "est dépassée" in page and "réservée à d'autres branches" in page and "votre taille" in page
    assert "Aucune : cette action n'est pas financée pour votre taille d'entreprise." in page
    assert "/inscrire" not in text(client.get(url(signed_in, f"/sessions/{session.id}")))


def test_htmx_request_returns_the_fragment_only(client, make, signed_in):
    make.session(make.action(make.opco("akto"), title="Excel avancé"))

    response = client.get(url(signed_in, q="excel"), headers={"HX-Request": "true"})

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and "<form" not in body
    assert "Excel avancé" in body
    assert 'id="catalogue-compte"' in body and 'hx-swap-oob="true"' in body
    assert "HX-Request" in response.headers["Vary"]
    # A history restore asks for the whole page.
    restore = client.get(
        url(signed_in, q="excel"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in text(restore)


@pytest.mark.parametrize("path", ["", "?q=management&seats_only=1&sort=price"])
def test_search_page_runs_a_constant_number_of_queries(client, make, signed_in, path):
    akto = make.opco("akto")

    def add_sessions(n):
        for i in range(n):
            action = make.action(akto, title=f"Management {i}", regions=["11", "84"] if i % 2 else None)
            make.session(action, make.provider(vat_regime="assujetti" if i % 3 else "exonere"))

    add_sessions(3)
    with count_queries() as few:
        assert client.get(url(signed_in) + path).status_code == 200
    add_sessions(37)
    with count_queries() as many:
        response = client.get(url(signed_in) + path)
    assert response.status_code == 200
    assert "40 sessions trouvées" in visible_text(response)
    assert len(many) == len(few), "\n".join(many)
