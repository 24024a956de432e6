"""In Chromium: an OPCO analyst asks for an export, sees it waiting, the runner produces it, and the row —
polled by htmx — turns to « Prêt » with its « Télécharger » link without reloading the page; the download is
the CSV. Screenshots of the exports page, the OF's indicators and the company's history are kept in /tmp."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.services import export_jobs
from tests.delivered import delivered_session
from tests.factories import DEFAULT_PASSWORD


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_the_export_row_turns_ready_while_the_page_stays_open(app, live_server, page, make, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1366, "height": 900})
    opco = make.opco("akto")
    analyst = make.user(email="analyste@exemple.test")
    make.member(opco, analyst, "viewer")
    provider = make.provider(admin=make.user(email="of@exemple.test"))
    company = make.company("akto", admin=make.user(email="rh@exemple.test"))
    delivered_session(
        make,
        [(company, None, "attended", 840), (company, None, "partially_attended", 420)],
        provider=provider,
    )
    base = live_server
    sign_in(page, base, analyst.email)
    page.goto(f"{base}/org/{opco.slug}/exports")
    form = page.locator("form", has=page.locator("input[name=kind][value=stagiaires]"))
    form.get_by_label("CSV (Excel)").check()
    form.get_by_role("button", name="Lancer l'export").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("En attente")
    assert export_jobs.run_waiting() == 1
    expect(row).to_contain_text("Prêt")  # polled, no reload
    expect(row).to_contain_text("2 / 2")
    page.screenshot(path="/tmp/browser-exports.png", full_page=True)
    with page.expect_download() as info:
        row.get_by_role("link", name="Télécharger").click()
    content = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert content.startswith("Nom;Prénom") and len(content.splitlines()) == 3
    page.context.clear_cookies()
    sign_in(page, base, "of@exemple.test")
    page.goto(f"{base}/of/{provider.slug}/indicateurs")
    expect(page.get_by_role("heading", name="Aide au bilan pédagogique et financier (BPF)")).to_be_visible()
    page.screenshot(path="/tmp/browser-indicateurs.png", full_page=True)
    page.context.clear_cookies()
    sign_in(page, base, "rh@exemple.test")
    page.goto(f"{base}/entreprise/{company.slug}/historique")
    expect(page.get_by_role("heading", name="Totaux par année")).to_be_visible()
    page.screenshot(path="/tmp/browser-historique.png", full_page=True)
