"""The funding figures frozen on an enrolment, as the company reads them: enrol page, outcomes, list, detail,
email; and the OPCO's rule (HT or TTC basis) set on its settings page and overridden per action."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import CollectiveAction, Enrolment, Opco
from tests.web.pages import text, visible_text


def company_with_hr(make):
    company = make.company()
    hr = make.user()
    make.member(company, hr, "hr")
    return company, hr


def vat_liable_session(make, *, shares=None, basis=None):
    """1 000 € HT funded at 80 %, by a VAT-liable organisation in mainland France (20 %)."""
    action = make.action(
        price_cents=100_000, shares=shares or {b: 80 for b in ("<11", "11-49", "50-299", "300+")}
    )
    if basis:
        action.funding_basis = basis
        db.session.commit()
    return make.session(action, make.provider(vat_regime="assujetti"))


def figures(page: str) -> dict[str, str]:
    """The figures table, figure name → text of its cell."""
    cells = re.findall(r'<td data-figure="([a-z-]+)">(.*?)</td>', page, re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", value).split()) for name, value in cells}


@pytest.mark.parametrize(
    ("basis", "opco", "remainder_ttc"),
    [
        ("ht", "800,00 € (80 % du prix HT)", "400,00 € TTC"),
        ("ttc", "960,00 € (80 % du prix TTC)", "240,00 € TTC"),
    ],
)
def test_enrol_page_outcomes_list_detail_and_email_show_the_frozen_figures(
    client, login, make, outbox, basis, opco, remainder_ttc
):
    company, hr = company_with_hr(make)
    session = vat_liable_session(make, basis=basis)
    employee = make.employee(company)
    login(client, hr)

    enrol = client.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire")
    assert figures(text(enrol)) == {
        "price-ht": "1 000,00 € HT",
        "vat": "200,00 € (20 %)",
        "price-ttc": "1 200,00 € TTC",
        "opco": opco,
        "remainder-ht": "200,00 € HT",
        "remainder-ttc": remainder_ttc,
    }
    assert "soit" not in visible_text(enrol)  # no more « 200 € HT soit 400 € TTC »

    outcome = client.post(
        f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
        data={"employee_ids": [str(employee.id)]},
    )
    assert f"reste à charge : 200,00 € HT, soit {remainder_ttc}" in visible_text(outcome)
    enrolment = db.session.scalar(select(Enrolment))

    # Frozen: the OPCO changing its price or basis afterwards does not change what the company reads.
    action = db.session.get(CollectiveAction, session.action_id)
    action.price_cents = 50_000
    action.funding_basis = "ttc" if basis == "ht" else "ht"
    db.session.commit()

    listing = visible_text(client.get(f"/entreprise/{company.slug}/inscriptions"))
    assert f"1 000,00 € HT 1 200,00 € TTC {opco.split(' (')[0]} {remainder_ttc} 200,00 € HT" in listing
    detail = text(client.get(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}"))
    assert figures(detail)["remainder-ttc"] == remainder_ttc
    assert figures(detail)["opco"] == opco

    [mail] = [m for m in outbox(hr.email) if m.subject.startswith("Inscription confirmée")]
    assert "Prix : 1 000,00 € HT + TVA 200,00 € (20 %) = 1 200,00 € TTC" in " ".join(mail.body_text.split())
    assert f"Reste à charge : 200,00 € HT, soit {remainder_ttc}" in " ".join(mail.body_text.split())


def test_a_cancelled_enrolment_shows_no_remainder(client, login, make):
    company, hr = company_with_hr(make)
    session = vat_liable_session(make)
    enrolment = make.enrolment(session, company, actor=hr)
    login(client, hr)
    assert client.post(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}/annuler").status_code == 303

    detail = text(client.get(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}"))
    shown = figures(detail)
    assert shown["remainder-ttc"].startswith("Aucun")
    assert "opco" not in shown and "remainder-ht" not in shown
    listing = visible_text(client.get(f"/entreprise/{company.slug}/inscriptions"))
    assert "Annulée par l'entreprise 1 000,00 € HT 1 200,00 € TTC — Aucun" in listing
    assert "400,00" not in listing


def test_exempt_organisation_shows_no_vat(client, login, make):
    company, hr = company_with_hr(make)
    action = make.action(price_cents=100_000, shares={b: 80 for b in ("<11", "11-49", "50-299", "300+")})
    session = make.session(action, make.provider(vat_regime="exonere"))
    login(client, hr)
    shown = figures(text(client.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire")))
    assert shown["vat"] == "Pas de TVA"
    assert shown["remainder-ttc"] == "200,00 € TTC"


def test_opco_sets_its_funding_basis_on_its_settings_page(client, login, make):
    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    login(client, admin)
    page = client.get(f"/opco/{opco.slug}/parametres")
    assert 'name="funding_basis" value="ht" checked' in text(page)

    saved = client.post(
        f"/opco/{opco.slug}/parametres", data={"waitlist_offer_hours": "48", "funding_basis": "ttc"}
    )
    assert saved.status_code == 303
    assert db.session.get(Opco, opco.id, populate_existing=True).funding_basis == "ttc"

    refused = client.post(
        f"/opco/{opco.slug}/parametres", data={"waitlist_offer_hours": "48", "funding_basis": "xx"}
    )
    assert refused.status_code == 422
    assert "Choisissez si la prise en charge porte sur le prix HT ou sur le prix TTC." in text(refused)
    assert db.session.get(Opco, opco.id, populate_existing=True).funding_basis == "ttc"


def test_an_action_overrides_the_opco_basis_and_the_company_sees_it(app, client, login, make):
    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    session = vat_liable_session(make)
    action = db.session.get(CollectiveAction, session.action_id)
    login(client, admin)
    form = client.get(f"/opco/{opco.slug}/catalogue/{action.id}/modifier")
    assert form.status_code == 200
    assert 'name="funding_basis"' in text(form)
    data = {
        "title": action.title,
        "reference": action.reference,
        "theme_code": action.theme_code,
        "modality": action.modality,
        "duration_hours": "14",
        "campaign_year": str(action.campaign_year),
        "price": "1000",
        "scope": "national",
        "cancellation_days": "10",
        "funding_basis": "ttc",
        "objectives": action.objectives or "",
    }
    for name in re.findall(r'name="(share_[^"]+)"', text(form)):
        data[name] = "80"
    saved = client.post(f"/opco/{opco.slug}/catalogue/{action.id}/modifier", data=data)
    assert saved.status_code == 303, visible_text(saved)
    assert db.session.get(CollectiveAction, action.id, populate_existing=True).funding_basis == "ttc"

    bad = client.post(
        f"/opco/{opco.slug}/catalogue/{action.id}/modifier", data={**data, "funding_basis": "xx"}
    )
    assert bad.status_code == 422

    company, hr = company_with_hr(make)
    other = app.test_client()
    login(other, hr)
    shown = figures(text(other.get(f"/entreprise/{company.slug}/sessions/{session.id}/inscrire")))
    assert shown["opco"] == "960,00 € (80 % du prix TTC)"
