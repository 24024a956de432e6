"""In Chromium: an OPCO publishes a call for tenders, a training organisation answers it, the deadline passes,
the OPCO checks, scores and awards the response, and the organisation sees its result and its referencing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD

PARIS = ZoneInfo("Europe/Paris")
TITLE = "Prévention des risques professionnels dans la propreté"
LOT_TITLE = "Sauveteur secouriste du travail — national"
# (criterion, weight, score out of 5): 40 × 4/5 + 20 × 4/5 + 30 × 3/5 + 10 × 5/5 = 76 out of 100.
CRITERIA = [("Valeur technique", 40, 4), ("Équipe et moyens", 20, 4), ("Prix", 30, 3), ("RSE", 10, 5)]
PDF = (  # a small valid PDF: the upload checks the %PDF- signature
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe\s*\*?$")).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def local_input(moment: datetime) -> str:
    """A moment as a datetime-local input wants it, in Paris time."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def nav(page, name: str):
    """A link of the organisation's menu, opening its group first when it sits in one (the OPCO's menus)."""
    group = page.locator("header details:not([open])").filter(has=page.locator("a", has_text=name))
    if group.count():  # a closed menu hides its links from the accessibility tree: open it as a person would
        group.locator("summary").click()
    return page.locator("header").get_by_role("link", name=name, exact=True)


@pytest.mark.browser
# A French browser in Paris, like the platform's users (Accept-Language, navigator.language, time zone).
@pytest.mark.browser_context_args(locale="fr-FR", timezone_id="Europe/Paris")
def test_opco_publishes_a_tender_provider_answers_opco_scores_and_awards_provider_is_referenced(
    app, live_server, page, new_context, make, outbox, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())  # htmx's hx-confirm uses window.confirm
    akto = make.opco("akto")
    buyer = make.user(email="achats@akto.test", full_name="Claire Dubois")
    make.member(akto, buyer, "admin")
    provider_admin = make.user(email="direction@formations-rhone.test", full_name="Marc Petit")
    provider = make.provider(admin=provider_admin, name="Formations du Rhône")
    memoir = tmp_path / "memoire-technique.pdf"
    memoir.write_bytes(PDF)

    now = datetime.now(UTC)
    questions_deadline = now + timedelta(hours=1)
    submission_deadline = now + timedelta(hours=2)
    award_date = (submission_deadline.astimezone(PARIS) + timedelta(days=7)).date()

    # --- 1. The OPCO builds the call for tenders and publishes it ----------------------------------------
    sign_in(page, live_server, "achats@akto.test")
    expect(page).to_have_url(re.compile(r"/opco/akto/$"))
    nav(page, "Appels d'offres").click()
    page.get_by_role("link", name="Préparer un appel d'offres").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Préparer un appel d'offres")

    page.get_by_label(re.compile(r"^Intitulé\s*\*?$")).fill(TITLE)
    page.get_by_label(re.compile(r"^Référence\s*\*?$")).fill("AO-2026-07")
    page.get_by_label("Contexte et enjeux").fill(
        "Les branches de la propreté veulent former 400 salariés aux gestes de premiers secours sur deux ans."
    )
    page.get_by_label("Cahier des charges").fill(
        "Formation SST initiale de 14 heures, en intra ou inter-entreprises, "
        "groupes de 4 à 10 stagiaires, formateurs certifiés INRS."
    )
    page.get_by_label("Date limite des questions").fill(local_input(questions_deadline))
    page.get_by_label("Date limite de dépôt des réponses").fill(local_input(submission_deadline))
    page.get_by_label("Date d'attribution prévue").fill(award_date.isoformat())
    # Only the technical proposal is required (the builder ticks the Qualiopi certificate too by default).
    expect(page.get_by_label("Mémoire technique", exact=True)).to_be_checked()
    page.get_by_label("Certificat Qualiopi", exact=True).uncheck()

    page.get_by_label("Intitulé du lot (lot 1)").fill(LOT_TITLE)
    page.get_by_label("Thème (lot 1)").select_option(label="34 – Services à la collectivité")
    page.get_by_label("Périmètre (lot 1)").select_option(label="National")
    page.get_by_label("Sessions prévues (lot 1)").fill("40")
    page.get_by_label("Stagiaires prévus (lot 1)").fill("400")
    page.get_by_label("Prix maximum par stagiaire en euros hors taxes (lot 1)").fill("1 200")
    page.get_by_label("Durée en heures (lot 1)").fill("14")
    for n, (label, weight, _score) in enumerate(CRITERIA, start=1):
        page.get_by_label(f"Critère (critère {n})").fill(label)
        page.get_by_label(f"Pondération (critère {n})").fill(str(weight))
    expect(page.locator("#weights-total")).to_contain_text("Total des pondérations : 100 sur 100.")
    page.screenshot(path="/tmp/tender-1-builder.png", full_page=True)
    page.get_by_role("button", name="Enregistrer le brouillon").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    main = page.locator("main")
    expect(main).to_contain_text("est enregistré en brouillon")
    expect(page.locator("#a-completer")).to_have_count(0)  # nothing left to complete before publishing
    lots = page.get_by_role("table", name="Lots de l'appel d'offres")
    expect(lots).to_contain_text(LOT_TITLE)
    expect(lots).to_contain_text("1 200,00")
    page.get_by_role("button", name="Publier l'appel d'offres").click()
    expect(main).to_contain_text(f"L'appel d'offres « {TITLE} » est publié")
    expect(page.get_by_role("button", name="Publier l'appel d'offres")).to_have_count(0)
    page.screenshot(path="/tmp/tender-2-published.png", full_page=True)

    # --- 2. The training organisation finds it and submits its response ----------------------------------
    of = new_context().new_page()
    of.set_default_timeout(30_000)
    of.on("dialog", lambda dialog: dialog.accept())
    sign_in(of, live_server, "direction@formations-rhone.test")
    expect(of).to_have_url(re.compile(rf"/of/{provider.slug}/$"))
    nav(of, "Appels d'offres").click()
    of.get_by_role("link", name=TITLE).click()
    expect(of.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(of.locator("main")).to_contain_text("AKTO")
    of.get_by_role("link", name="Répondre au lot 1").click()
    expect(of.get_by_role("heading", level=1)).to_have_text(f"Réponse au lot n° 1 : {LOT_TITLE}")

    of.get_by_label("Prix par stagiaire (€ HT)").fill("1 150")
    of.get_by_label("Durée proposée (heures)").fill("14")
    of.get_by_label("Programme proposé").fill(
        "Jour 1 : protéger, examiner, alerter. Jour 2 : secourir, cas pratiques et évaluation certificative."
    )
    of.get_by_label("Équipe pédagogique et moyens").fill(
        "Trois formateurs SST certifiés INRS, mannequins adulte, "
        "enfant et nourrisson, défibrillateur de formation."
    )
    of.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(of.locator("main")).to_contain_text(
        "Brouillon enregistré. Votre réponse n'est pas encore déposée."
    )
    expect(of.get_by_label("Prix par stagiaire (€ HT)")).to_have_value("1 150,00")

    of.get_by_label("Type de document").select_option(label="Mémoire technique (exigé)")
    of.get_by_label("Fichier (PDF, DOCX, XLSX ou ODT)").set_input_files(memoir)
    of.get_by_role("button", name="Joindre le document").click()
    expect(of.locator("main")).to_contain_text(
        "« memoire-technique.pdf » est joint à votre réponse (Mémoire technique)."
    )
    expect(of.locator(".tr-checklist")).to_contain_text("Mémoire technique : jointe")

    of.get_by_role("button", name="Déposer la réponse").click()
    expect(of.get_by_role("heading", name="Confirmer le dépôt")).to_be_visible()
    of.screenshot(path="/tmp/tender-3-confirm.png", full_page=True)
    of.get_by_role("button", name="Confirmer le dépôt de la réponse").click()
    expect(of.locator(".tr-status")).to_contain_text(re.compile(r"Déposée le \d\d/\d\d/\d{4} à \d\d h \d\d"))
    expect(of.get_by_role("button", name="Déposer la réponse")).to_have_count(0)  # read-only once submitted
    assert outbox("direction@formations-rhone.test"), "aucun accusé de dépôt envoyé"

    # --- 3. The deadline passes (the live server's thread travels too) -----------------------------------
    with time_machine.travel(now + timedelta(hours=3), tick=True):
        # --- 4. The OPCO opens the responses, checks, scores and awards ---------------------------------
        page.reload()
        # Reading the page closed the tender: the live server's thread sees the travelled clock (the real one
        # is still two hours before the deadline).
        expect(page.locator("main")).to_contain_text("clos le")
        expect(page.get_by_role("button", name="Commencer l'analyse des réponses")).to_be_visible()
        page.get_by_role("button", name="Commencer l'analyse des réponses").click()
        expect(main).to_contain_text(f"L'analyse des réponses à « {TITLE} » est commencée.")
        page.get_by_role("link", name="Ouvrir l'évaluation des réponses").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Évaluation des réponses : {TITLE}")

        response_card = page.locator("article.ev-response", has_text="Formations du Rhône")
        expect(response_card.locator(".ev-checks").first).not_to_contain_text("✘")
        response_card.get_by_label("Mémoire technique spécifique au lot").check()
        response_card.get_by_label("Prix conformes au bordereau").check()
        response_card.get_by_label("Pièces lisibles").check()
        response_card.get_by_role("button", name="Déclarer recevable").click()
        expect(main).to_contain_text("La réponse de Formations du Rhône est déclarée recevable")

        expect(response_card).to_contain_text("Signez la déclaration d'absence de conflit d'intérêts")
        page.get_by_label("Je certifie sur l'honneur l'exactitude de cette déclaration.").check()
        page.get_by_role("button", name="Signer la déclaration").click()
        expect(main).to_contain_text("Votre déclaration d'absence de conflit d'intérêts est signée")

        for label, _weight, score in CRITERIA:
            response_card.get_by_label(label, exact=True).select_option(str(score))
            response_card.get_by_label(f"Justification : {label}").fill(
                f"{label} : note {score}, étayée par le mémoire technique."
            )
        page.screenshot(path="/tmp/tender-4-scoring.png", full_page=True)
        response_card.get_by_role("button", name="Envoyer ma grille (définitif)").click()
        expect(main).to_contain_text("Votre grille pour Formations du Rhône est envoyée")

        ranking = page.locator("table.ev-ranking")
        first = ranking.get_by_role("row", name=re.compile("Formations du Rhône"))
        expect(first.locator("td").first).to_have_text("1")
        expect(first).to_contain_text(re.compile(r"\b76(,00?)?\b"))

        award = page.locator("#attribution")
        expect(award.get_by_label(re.compile(r"Formations du Rhône — rang 1"))).to_be_checked()
        valid_from = (now + timedelta(hours=3)).astimezone(PARIS).date()
        award.get_by_label("Début des référencements").fill(valid_from.isoformat())
        award.get_by_label("Fin des référencements").fill((valid_from + timedelta(days=730)).isoformat())
        page.screenshot(path="/tmp/tender-5-ranking.png", full_page=True)
        award.get_by_role("button", name="Attribuer l'appel d'offres").click()
        expect(main).to_contain_text(f"L'appel d'offres « {TITLE} » est attribué : 1 organisme référencé.")
        expect(page.locator("#resultat")).to_contain_text("attribué à Formations du Rhône")
        subjects = [m.subject for m in outbox("direction@formations-rhone.test")]
        assert "Appel d'offres AO-2026-07 – lot n° 1 : votre réponse est retenue" in subjects, subjects

        # --- 5. The training organisation sees its result, then its referencing ---------------------------
        nav(of, "Mes réponses").click()
        row = of.get_by_role("row", name=re.compile(LOT_TITLE))
        expect(row).to_contain_text("Retenue")
        expect(row).to_contain_text(re.compile(r"76(,00?)? / 100"))
        expect(row).to_contain_text("rang 1")
        of.screenshot(path="/tmp/tender-6-my-responses.png", full_page=True)
        row.get_by_role("link", name=re.compile("Lot n° 1")).click()
        expect(of.get_by_role("region", name="Résultat de l'appel d'offres")).to_contain_text(
            "Votre réponse est retenue."
        )

        of.goto(f"{live_server}/of/{provider.slug}/")
        referencings = of.get_by_role("region", name="Vos référencements")
        referenced = referencings.get_by_role("row", name=re.compile(LOT_TITLE))
        expect(referenced).to_contain_text("AKTO")
        expect(referenced).to_contain_text("1 150,00")
        expect(referenced).to_contain_text("Actif")
        of.screenshot(path="/tmp/tender-7-dashboard.png", full_page=True)
