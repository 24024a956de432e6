"""Invoice pages: the organisation prepares, issues, credits and exports its invoices; the company sees only
its own; permissions; the demo's invoices."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Invoice, OutboxMessage
from tests.delivered import delivered_session
from tests.web.pages import text, visible_text


@pytest.fixture
def setup(make):
    provider = make.provider()
    company = make.company()
    hr = make.user()
    make.member(company, hr, "admin")
    session, _ = delivered_session(
        make,
        [(company, None, "attended", 840), (company, None, "partially_attended", 420)],
        action=make.action(make.opco("akto"), shares={"<11": 80, "11-49": 80, "50-249": 80}),
        provider=provider,
    )
    accountant = make.user()
    make.member(provider, accountant, "accountant")
    return provider, accountant, company, hr, session


def test_organisation_prepares_issues_credits_and_exports(client, login, make, setup):
    provider, accountant, company, hr, session = setup
    login(client, accountant)
    listing = client.get(f"/of/{provider.slug}/factures")
    assert "Préparer les factures" in text(listing)
    prepared = client.post(f"/of/{provider.slug}/sessions/{session.id}/factures/preparer")
    assert prepared.status_code == 303
    again = client.post(f"/of/{provider.slug}/sessions/{session.id}/factures/preparer")
    assert again.status_code == 303
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert [i.payer for i in invoices] == ["opco", "company"]  # not duplicated
    opco_invoice, company_invoice = invoices
    page = client.get(f"/of/{provider.slug}/factures/{company_invoice.id}")
    shown = visible_text(page)
    assert "Brouillon" in shown and "Émettre" in shown
    assert "14 h" in shown or "14,00" in shown or "14 h 00" in shown
    for invoice in (opco_invoice, company_invoice):
        issued = client.post(f"/of/{provider.slug}/factures/{invoice.id}/emettre")
        assert issued.status_code == 303
    db.session.expire_all()
    year = db.session.get(Invoice, company_invoice.id).year
    assert [i.number for i in db.session.scalars(select(Invoice).order_by(Invoice.id))] == [
        f"F-{year}-0001",
        f"F-{year}-0002",
    ]
    # The company's members who pay are told.
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == hr.email)) is not None
    pdf = client.get(f"/of/{provider.slug}/factures/{company_invoice.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Issuing twice is refused; a credit note for 10 € then for the rest cancels it.
    refused = client.post(f"/of/{provider.slug}/factures/{company_invoice.id}/emettre", follow_redirects=True)
    assert "déjà émise" in text(refused)
    bad = client.post(
        f"/of/{provider.slug}/factures/{company_invoice.id}/avoir", data={"reason": "", "amount": ""}
    )
    assert bad.status_code == 422
    partial = client.post(
        f"/of/{provider.slug}/factures/{company_invoice.id}/avoir",
        data={"reason": "Erreur d'heures", "amount": "10"},
    )
    assert partial.status_code == 303
    full = client.post(
        f"/of/{provider.slug}/factures/{company_invoice.id}/avoir", data={"reason": "Annulation"}
    )
    assert full.status_code == 303
    db.session.expire_all()
    assert db.session.get(Invoice, company_invoice.id).status == "cancelled"
    # The accountants' export: every issued document, in number order.
    csv = client.get(f"/of/{provider.slug}/factures/export.csv")
    body = csv.data.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Numéro;Type;Date")
    numbers = [line.split(";")[0] for line in body.splitlines()[1:]]
    assert numbers == [f"F-{year}-0001", f"F-{year}-0002", f"A-{year}-0003", f"A-{year}-0004"]
    assert f"F-{year}-0002" in body.splitlines()[4]  # the credited invoice's number
    workbook = load_workbook(io.BytesIO(client.get(f"/of/{provider.slug}/factures/export.xlsx").data))
    assert workbook.active.max_row == 5
    filtered = client.get(f"/of/{provider.slug}/factures?etat=cancelled")
    assert f"F-{year}-0002" in text(filtered) and f"F-{year}-0001" not in text(filtered)


def test_company_sees_only_its_issued_invoices(client, login, make, setup):
    from marketplace.services import invoicing

    provider, _accountant, company, hr, session = setup
    opco_invoice, company_invoice = invoicing.draft_for_session(session, None)
    db.session.commit()
    login(client, hr)
    assert client.get(f"/entreprise/{company.slug}/factures/{company_invoice.id}").status_code == 404  # draft
    invoicing.issue(company_invoice, None)
    invoicing.issue(opco_invoice, None)
    db.session.commit()
    listing = visible_text(client.get(f"/entreprise/{company.slug}/factures"))
    assert company_invoice.number in listing and opco_invoice.number not in listing
    assert client.get(f"/entreprise/{company.slug}/factures/{company_invoice.id}").status_code == 200
    assert client.get(f"/entreprise/{company.slug}/factures/{company_invoice.id}/pdf").status_code == 200
    assert client.get(f"/entreprise/{company.slug}/factures/{opco_invoice.id}").status_code == 404
    other = make.company()
    stranger = make.user()
    make.member(other, stranger, "admin")
    client.post("/deconnexion")
    login(client, stranger)
    assert client.get(f"/entreprise/{other.slug}/factures/{company_invoice.id}").status_code == 404
    assert client.get(f"/entreprise/{other.slug}/factures/{company_invoice.id}/pdf").status_code == 404


def test_another_organisation_and_a_member_without_invoice_permission(client, login, make, setup):
    from marketplace.services import invoicing

    provider, _accountant, _company, _hr, session = setup
    [invoice, _] = invoicing.draft_for_session(session, None)
    db.session.commit()
    other = make.provider()
    login(client, make.member(other, make.user(), "admin").user)
    assert client.get(f"/of/{other.slug}/factures/{invoice.id}").status_code == 404
    assert client.post(f"/of/{other.slug}/factures/{invoice.id}/emettre").status_code == 404
    trainer = make.member(provider, make.user(), "trainer").user
    client.post("/deconnexion")
    login(client, trainer)
    assert client.get(f"/of/{provider.slug}/factures").status_code == 403
