"""In Chromium: a company signs up, sees its OPCO, invites a colleague inline; the colleague joins and signs in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import next_siret

SCREENSHOT = "/tmp/browser-signup.png"
ADMIN_PASSWORD = "proprete-lumiere-2026"
COLLEAGUE_PASSWORD = "collegue-lumiere-2026"


@pytest.mark.browser
def test_company_signs_up_sees_its_opco_and_invites_a_colleague_who_signs_in(
    app, live_server, page, new_context, make, outbox, monkeypatch
):
    # The real app checks CSRF on every POST, htmx ones included: run the browser against that.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    make.opco("akto")
    siret = next_siret()
    page.set_default_timeout(30_000)

    # --- Sign-up, with the live check of the SIRET and the IDCC -----------------------------------
    page.goto(f"{live_server}/inscription")
    # Pico styles the link as a button (role="button").
    page.get_by_role("link", name="Inscrire mon entreprise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscrire mon entreprise")

    page.get_by_label("Vos prénom et nom").fill("Léa Moreau")
    page.get_by_label("Votre adresse e-mail professionnelle").fill("lea.moreau@proprete-lumiere.fr")
    page.locator("#password").fill(ADMIN_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(ADMIN_PASSWORD)
    page.get_by_label("Raison sociale").fill("Propreté Lumière")
    page.get_by_label("SIRET de l'établissement").press_sequentially(siret, delay=20)
    page.get_by_label("Code APE/NAF").fill("8121Z")
    page.get_by_label("IDCC (convention collective)").press_sequentially("3043", delay=20)

    verification = page.locator("#verification")
    expect(verification).to_contain_text("SIRET valide")
    expect(verification).to_contain_text("est rattachée à AKTO")
    expect(verification.locator("[data-check=siret]")).to_contain_text(siret[:9])

    page.get_by_label("Effectif salarié").fill("42")
    page.locator("#address").fill("12 rue des Lilas")
    page.get_by_label("Code postal").fill("69003")
    page.get_by_label("Commune").fill("Lyon")
    page.get_by_label("Région").select_option(label="Auvergne-Rhône-Alpes")
    page.get_by_label("J'accepte les conditions d'utilisation").check()
    page.screenshot(path="/tmp/browser-signup-form.png", full_page=True)
    page.get_by_role("button", name="Créer le compte de mon entreprise").click()

    # --- The address is confirmed by the emailed link ---------------------------------------------
    expect(page).to_have_url(re.compile(r"/inscription/confirmation$"))
    expect(page.locator("main")).to_contain_text(
        "Un courriel de confirmation a été envoyé à lea.moreau@proprete-lumiere.fr."
    )
    [confirmation] = outbox("lea.moreau@proprete-lumiere.fr")
    page.goto(re.search(r"https?://\S+/confirmer/\S+", confirmation.body_text).group(0))
    page.get_by_role("button", name="Confirmer mon adresse").click()

    # --- Dashboard: attached to AKTO -------------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/entreprise/proprete-lumiere/$"))
    expect(page.locator("main")).to_contain_text("Merci : votre adresse électronique est confirmée.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Propreté Lumière — tableau de bord")
    expect(page.locator("main")).to_contain_text("Votre entreprise est rattachée à AKTO")

    # --- Members: inline invitation (htmx, no full reload) ----------------------------------------
    page.locator("header").get_by_role("link", name="Membres").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Membres de Propreté Lumière")
    page.evaluate("window.__pageNonRechargee = true")
    page.get_by_label("Adresse e-mail de la personne invitée").fill("nadia.benali@proprete-lumiere.fr")
    page.get_by_label(re.compile(r"^Rôle\s*\*?$")).select_option(label="Responsable formation")
    page.get_by_role("button", name="Envoyer l'invitation").click()

    invitations = page.locator("#invitations")
    expect(invitations).to_contain_text("Invitation envoyée à nadia.benali@proprete-lumiere.fr.")
    expect(
        invitations.get_by_role("row", name=re.compile("nadia.benali@proprete-lumiere.fr"))
    ).to_contain_text("Responsable formation")
    assert page.evaluate("window.__pageNonRechargee") is True, "la page a été rechargée entièrement"
    page.screenshot(path="/tmp/browser-signup-members.png", full_page=True)

    [mail] = outbox("nadia.benali@proprete-lumiere.fr")
    link = re.search(r"https?://\S+/invitation/\S+", mail.body_text).group(0)
    assert link.startswith(live_server)

    # --- The colleague opens the link in another browser and creates an account -----------------
    colleague = new_context().new_page()
    colleague.set_default_timeout(30_000)
    colleague.goto(link)
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Rejoindre Propreté Lumière")
    expect(colleague.locator("main")).to_contain_text("Léa Moreau vous invite")
    colleague.get_by_label("Vos prénom et nom").fill("Nadia Benali")
    colleague.get_by_label("Choisissez un mot de passe").fill(COLLEAGUE_PASSWORD)
    colleague.get_by_label("Confirmez le mot de passe").fill(COLLEAGUE_PASSWORD)
    colleague.get_by_role("button", name="Créer mon compte et rejoindre").click()

    expect(colleague).to_have_url(re.compile(r"/entreprise/proprete-lumiere/$"))
    expect(colleague.locator("main")).to_contain_text("Vous avez rejoint Propreté Lumière.")
    expect(colleague.locator("main")).to_contain_text("Votre entreprise est rattachée à AKTO")

    # --- Sign out, then sign in again through the form --------------------------------------------
    colleague.get_by_role("button", name="Se déconnecter").click()
    expect(colleague).to_have_url(re.compile(r"/connexion$"))
    expect(colleague.locator("main")).to_contain_text("Vous êtes déconnecté.")
    colleague.get_by_label("Adresse e-mail").fill("nadia.benali@proprete-lumiere.fr")
    colleague.get_by_label(re.compile(r"^Mot de passe\s*\*?$")).fill(COLLEAGUE_PASSWORD)
    colleague.get_by_role("button", name="Se connecter").click()

    expect(colleague).to_have_url(re.compile(r"/entreprise/proprete-lumiere/$"))
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Propreté Lumière — tableau de bord")
    expect(colleague.locator(".org-badge")).to_have_text("Propreté Lumière")
    colleague.screenshot(path=SCREENSHOT, full_page=True)

    # The admin, still on the members page, sees the colleague once the page is reloaded.
    page.reload()
    expect(page.get_by_role("row", name=re.compile("Nadia Benali"))).to_contain_text("Responsable formation")
