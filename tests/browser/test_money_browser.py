"""In Chromium: the money trail of a delivered session. The organisation prepares its invoices from the
session page and issues the OPCO's (hours done × hourly rate on each line); the OPCO takes it into control
from its queue, validates it, puts it in a payment batch, downloads the SEPA file (pain.001: the
organisation's IBAN and the amount) and marks the batch paid; the organisation sees its invoice « Payée ».

The session starts delivered (service fait): closing it in the browser is covered by
test_attendance_browser. The organisation's bank details are confirmed through the emailed link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Invoice, Payer, Referencing
from marketplace.services import bank_details, payment_settings
from tests.browser.test_attendance_browser import sign_in
from tests.delivered import delivered_session

IBAN = "FR7630006000011234567890189"
SPACE = r"[\s\u202f\u00a0]?"


def _euros(text: str) -> re.Pattern:
    """« 1 050,00 € » whatever space the money filter puts between thousands and before the sign."""
    return re.compile(text.replace(" ", SPACE).replace("€", f"{SPACE}€"))


@pytest.mark.browser
def test_the_organisation_issues_the_opco_validates_and_pays_the_organisation_sees_it_paid(
    app, live_server, page, new_context, make, outbox, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    akto = make.opco("akto")
    opco_admin = make.user(email="controle@akto.test")
    make.member(akto, opco_admin, "admin")
    admin = make.user(email="of@exemple.test")
    provider = make.provider(admin=admin, name="Formations du Rhône")
    company = make.company(name="Nettoyage Confluence")
    full = make.employee(company, last_name="Garcia", first_name="Inès")
    partial = make.employee(company, last_name="Martin", first_name="Hugo")
    action = make.action(akto, title="Gestes et postures", shares={"<11": 100, "11-49": 100, "50-249": 100})
    session, _ = delivered_session(
        make,
        [(company, full, "attended", 840), (company, partial, "partially_attended", 420)],
        action=action,
        provider=provider,
    )
    referencing = db.session.scalar(select(Referencing).where(Referencing.id == session.referencing_id))
    referencing.pricing_mode, referencing.hourly_rate_cents = "per_hour", 5_000  # 50,00 € HT per hour done
    payment_settings.update(akto, opco_admin, 0, "FR1420041010050500013M02606", "PSSTFRPPXXX", "AKTO")
    bank_details.request_change(provider, admin, IBAN, "AGRIFRPPXXX", "Formations du Rhône")
    db.session.commit()
    [mail] = [m for m in outbox(admin.email) if "confirmer" in m.body_text]
    token = re.search(r"/coordonnees-bancaires/confirmer/(\S+)", mail.body_text).group(1)
    bank_details.confirm_change(provider, admin, token)
    db.session.commit()

    # --- The organisation prepares and issues the OPCO's invoice -----------------------------------------
    sign_in(page, live_server, "of@exemple.test")
    page.goto(f"{live_server}/of/{provider.slug}/sessions/{session.id}")
    facturation = page.get_by_role("region", name="Facturation")
    facturation.get_by_role("button", name="Préparer les factures").click()
    expect(
        page.get_by_text("1 facture en brouillon pour cette session, à vérifier puis émettre.")
    ).to_be_visible()
    opco_invoice = db.session.scalar(select(Invoice).where(Invoice.payer == Payer.OPCO))
    assert opco_invoice is not None  # 100 % funded: no remainder, the OPCO's invoice only
    page.goto(f"{live_server}/of/{provider.slug}/factures")
    page.get_by_role("link", name=f"Brouillon n° {opco_invoice.id}").click()
    lines = page.locator("table").first
    garcia = lines.locator("tr", has_text="Inès")
    expect(garcia).to_contain_text("14")  # hours done
    expect(garcia).to_contain_text(_euros("700,00 €"))  # 14 h × 50,00 €
    martin = lines.locator("tr", has_text="Hugo")
    expect(martin).to_contain_text("7")
    expect(martin).to_contain_text(_euros("350,00 €"))  # 7 h × 50,00 €
    expect(lines.locator("tfoot")).to_contain_text(_euros("1 050,00 €"))
    page.get_by_role("button", name="Émettre").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Émise")
    db.session.refresh(opco_invoice)
    number, total_ttc = opco_invoice.number, opco_invoice.total_ttc_cents
    assert number and opco_invoice.total_ht_cents == 105_000

    # --- The OPCO controls, validates and pays in a batch ------------------------------------------------
    opco = new_context().new_page()
    opco.set_default_timeout(30_000)
    sign_in(opco, live_server, "controle@akto.test")
    opco.goto(f"{live_server}/opco/{akto.slug}/factures")
    expect(opco.get_by_role("heading", level=1)).to_have_text("Contrôle des factures")
    opco.get_by_role("button", name="Prendre en contrôle et tirer au sort").click()
    opco.get_by_role("link", name=number).click()
    expect(opco.get_by_role("heading", level=1)).to_have_text(f"Facture {number}")
    opco.get_by_role("button", name="Valider la facture").click()
    expect(opco.get_by_text("Validée").first).to_be_visible()
    opco.goto(f"{live_server}/opco/{akto.slug}/paiements")
    expect(opco.get_by_label(f"Payer la facture {number}")).to_be_checked()  # IBAN confirmed
    opco.get_by_role("button", name="Créer le lot et son fichier de virement SEPA").click()
    expect(opco.get_by_role("heading", level=1)).to_contain_text("Lot de paiement")
    with opco.expect_download() as download_info:
        opco.get_by_role("button", name="Télécharger le fichier de virement SEPA (pain.001)").click()
    xml = Path(download_info.value.path()).read_text()
    assert IBAN in xml
    assert f"{total_ttc // 100}.{total_ttc % 100:02d}" in xml  # the validated amount, in euros
    assert number in xml
    opco.get_by_role("button", name="Marquer le lot payé").click()
    expect(opco.get_by_role("main")).to_contain_text("Payé")

    # --- The organisation sees its invoice paid ----------------------------------------------------------
    page.goto(f"{live_server}/of/{provider.slug}/factures")
    row = page.locator("tr", has_text=number)
    expect(row).to_contain_text("Payée")
    expect(row).to_contain_text(_euros("1 050,00 €"))
    page.screenshot(path="/tmp/browser-money-paid.png", full_page=True)
