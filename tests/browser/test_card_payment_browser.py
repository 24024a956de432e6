"""In Chromium, against localstripe's Stripe.js (the fake card element served by the localstripe fixture):
the company pays its reste à charge by card and sees « Payée »; a second invoice goes through 3-D Secure
(localstripe's authentication box); the organisation sees both invoices paid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import InvoiceStatus
from tests import localstripe
from tests.browser.test_attendance_browser import sign_in
from tests.payments import billed, reload


def _fill_card(page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")


@pytest.mark.browser
def test_the_company_pays_its_remainder_by_card_and_the_organisation_sees_it_paid(
    app, live_server, page, new_context, make, fake_stripe, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    b = billed(make)
    second = billed(make, name="Organisme Deux")  # another invoice, paid with 3-D Secure
    second_payer_email = second.payer.email
    db.session.commit()

    # --- The company pays with the card 4242 ----------------------------------------------------------
    sign_in(page, live_server, b.payer.email)
    page.goto(f"{live_server}/entreprise/{b.company.slug}/factures/{b.invoice.id}")
    page.get_by_role("link", name="Payer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Payer la facture {b.invoice.number}")
    _fill_card(page, localstripe.CARD_OK)
    page.screenshot(path="/tmp/browser-card-payment.png", full_page=True)
    page.locator("#card-submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Paiement de la facture {b.invoice.number}")
    expect(page.locator("#payment-status")).to_contain_text("Payée")
    expect(page.get_by_role("link", name="Télécharger la facture acquittée (PDF)")).to_be_visible()
    assert reload(b.invoice).status == InvoiceStatus.PAID

    # --- Another company pays through 3-D Secure ------------------------------------------------------
    other = new_context().new_page()
    other.set_default_timeout(30_000)
    sign_in(other, live_server, second_payer_email)
    other.goto(f"{live_server}/entreprise/{second.company.slug}/factures/{second.invoice.id}/payer")
    _fill_card(other, localstripe.CARD_3DS)
    other.locator("#card-submit").click()
    other.get_by_role("button", name="Complete authentication").click()  # localstripe's 3-D Secure box
    expect(other.locator("#payment-status")).to_contain_text("Payée")

    # --- The organisation sees its invoice paid -------------------------------------------------------
    organisation = new_context().new_page()
    organisation.set_default_timeout(30_000)
    sign_in(organisation, live_server, b.provider_admin.email)
    organisation.goto(f"{live_server}/of/{b.provider.slug}/factures")
    row = organisation.locator("tr", has_text=b.invoice.number)
    expect(row).to_contain_text("Payée")
    organisation.get_by_role("link", name=b.invoice.number).click()
    expect(organisation.get_by_role("main")).to_contain_text("carte bancaire")
    organisation.screenshot(path="/tmp/browser-card-paid-organisation.png", full_page=True)
    organisation.goto(f"{live_server}/of/{b.provider.slug}/paiement-carte")
    expect(organisation.get_by_text("clé enregistrée le")).to_be_visible()
    organisation.screenshot(path="/tmp/browser-stripe-settings.png", full_page=True)
