"""In Chromium: a company searches its OPCO's catalogue, enrols two employees, sees the outcome for each;
the training organisation then finds them on its session."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD

SCREENSHOT = "/tmp/browser-enrolment.png"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_company_finds_a_session_enrols_two_employees_and_the_provider_sees_them(
    app, live_server, page, new_context, make, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    akto = make.opco("akto")
    provider_admin = make.user(email="of@exemple.test")
    provider = make.provider(admin=provider_admin, name="Formations du Rhône")
    wanted = make.action(akto, title="Sauveteur secouriste du travail", price_cents=42_000)
    other = make.action(akto, title="Excel perfectionnement")
    session = make.session(wanted, provider, capacity_max=2, city="Villeurbanne")
    make.session(other, provider, city="Lyon")
    hr = make.user(email="rh@exemple.test")
    company = make.company(admin=hr, headcount=30, name="Nettoyage Confluence")
    make.employee(company, last_name="Garcia", first_name="Inès")
    make.employee(company, last_name="Lopez", first_name="Théo")
    make.employee(company, last_name="Martin", first_name="Zoé")

    # --- The company searches the catalogue (live, htmx) ------------------------------------------------
    sign_in(page, live_server, "rh@exemple.test")
    page.goto(f"{live_server}/entreprise/{company.slug}/catalogue")
    results = page.locator("#resultats")
    expect(results.get_by_role("link", name="Excel perfectionnement", exact=True)).to_be_visible()
    page.get_by_label("Rechercher").fill("secouriste")
    expect(results.get_by_role("link", name="Excel perfectionnement", exact=True)).to_have_count(0)
    expect(results.get_by_role("link", name="Sauveteur secouriste du travail", exact=True)).to_be_visible()
    expect(results).to_contain_text("Villeurbanne")
    expect(results).to_contain_text("420,00")  # price HT, funded 100 % for a company of 30 people
    assert "q=secouriste" in page.url  # a bookmarkable search

    # --- It enrols two employees and sees the outcome for each ----------------------------------------
    results.get_by_role("link", name="Inscrire des salariés").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscrire des salariés")
    page.get_by_label("GARCIA Inès").check()
    page.get_by_label("LOPEZ Théo").check()
    page.get_by_role("button", name="Inscrire les salariés cochés").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Résultat des inscriptions")
    expect(page.locator("tr[data-outcome=confirmed]")).to_have_count(2)
    expect(page.locator("tbody")).to_contain_text("GARCIA Inès")
    expect(page.locator("tbody")).to_contain_text("LOPEZ Théo")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # --- The training organisation sees them on its session --------------------------------------------
    of_page = new_context().new_page()
    of_page.set_default_timeout(30_000)
    sign_in(of_page, live_server, "of@exemple.test")
    of_page.goto(f"{live_server}/of/{provider.slug}/sessions/{session.id}")
    trainees = of_page.locator("#stagiaires").locator("xpath=..")
    expect(trainees).to_contain_text("Inscriptions confirmées (2)")
    expect(trainees).to_contain_text("GARCIA")
    expect(trainees).to_contain_text("Nettoyage Confluence")
