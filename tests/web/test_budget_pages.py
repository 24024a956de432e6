"""OPCO budget pages: one bar per envelope with its figures as text, create/edit with French validation
(nothing saved on error), attach an action, the ledger; other tenants and other kinds get 404."""

from __future__ import annotations

import re

import pytest

from marketplace.extensions import db
from marketplace.models import BudgetEnvelope, BudgetMovement, CollectiveAction
from marketplace.services import envelopes
from tests.web.pages import count, visible_text


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def opco_admin(make, akto):
    admin = make.user(email="budget@akto.test", full_name="Bérénice Budget")
    make.member(akto, admin, "admin")
    return admin


@pytest.fixture
def signed_in(client, login, opco_admin):
    login(client, opco_admin)
    return client


def envelope_data(**changes) -> dict:
    data = {
        "label": "Fonds légaux 2026",
        "year": "2026",
        "fund": "legal",
        "idcc": "",
        "region_code": "",
        "allotted": "2 000",
        "thresholds": "80, 90, 100",
        "when_exhausted": "refuse",
    }
    return {**data, **changes}


def test_create_attach_enrol_and_see_the_bar(signed_in, make, akto, opco_admin):
    client = signed_in
    response = client.post(f"/opco/{akto.slug}/budgets/nouvelle", data=envelope_data(allotted="abc", year=""))
    assert response.status_code == 422
    page = visible_text(response)
    assert "Le montant alloué doit être un montant en euros" in page and "L'année doit être" in page
    assert count(BudgetEnvelope) == 0

    response = client.post(f"/opco/{akto.slug}/budgets/nouvelle", data=envelope_data())
    assert response.status_code == 303
    envelope = db.session.query(BudgetEnvelope).one()
    action = make.action(akto, price_cents=100_000, title="Gérer son budget")
    response = client.post(f"/opco/{akto.slug}/budgets/{envelope.id}/actions", data={"action_id": action.id})
    assert response.status_code == 303
    assert db.session.get(CollectiveAction, action.id).envelope_id == envelope.id
    enrolment = make.enrolment(make.session(action))

    page = visible_text(client.get(f"/opco/{akto.slug}/budgets"))
    assert "Fonds légaux 2026" in page
    assert "Engagé 1 000,00 € (50 %)" in page.replace("\u202f", " ").replace("\u00a0", " ")
    detail = visible_text(client.get(f"/opco/{akto.slug}/budgets/{envelope.id}"))
    assert f"Inscription n° {enrolment.id} confirmée" in detail
    assert "Gérer son budget" in detail
    assert count(BudgetMovement) == 1

    response = client.post(
        f"/opco/{akto.slug}/budgets/{envelope.id}/modifier",
        data=envelope_data(allotted="1 000", label="Réduite"),
    )
    assert response.status_code == 303
    assert db.session.get(BudgetEnvelope, envelope.id).allotted_cents == 100_000


def test_filters_by_year_and_fund(signed_in, akto, opco_admin):
    for year, fund, label in ((2025, "legal", "Ancienne"), (2026, "voluntary", "Volontaire")):
        envelopes.create_envelope(
            akto, envelopes.EnvelopeInput(label=label, year=year, fund=fund, allotted="100"), opco_admin
        )
    db.session.commit()
    page = visible_text(signed_in.get(f"/opco/{akto.slug}/budgets?annee=2026"))
    assert "Volontaire" in page and "Ancienne" not in page
    page = visible_text(signed_in.get(f"/opco/{akto.slug}/budgets?fonds=legal"))
    assert "Ancienne" in page and "Volontaire" not in page


def test_other_opco_and_other_kinds_get_404(client, login, make, akto, opco_admin):
    envelope = envelopes.create_envelope(
        akto, envelopes.EnvelopeInput(label="Secrète", year=2026, fund="legal", allotted="100"), opco_admin
    )
    db.session.commit()
    other = make.opco("opco2i")
    stranger = make.user()
    make.member(other, stranger, "admin")
    login(client, stranger)
    assert client.get(f"/opco/{other.slug}/budgets/{envelope.id}").status_code == 404
    assert "Secrète" not in visible_text(client.get(f"/opco/{other.slug}/budgets"))
    company = make.company("akto")
    hr = make.user()
    make.member(company, hr, "admin")
    as_company = client.application.test_client()
    login(as_company, hr)
    assert as_company.get(f"/opco/{company.slug}/budgets").status_code == 404


def test_the_activity_log_reads_the_budget_events_in_french(signed_in, make, akto, opco_admin):
    client = signed_in
    client.post(f"/opco/{akto.slug}/budgets/nouvelle", data=envelope_data(allotted="1 000"))
    envelope = db.session.query(BudgetEnvelope).one()
    action = make.action(akto, price_cents=100_000)
    client.post(f"/opco/{akto.slug}/budgets/{envelope.id}/actions", data={"action_id": action.id})
    make.enrolment(make.session(action))  # 100 %: an alert
    client.post(f"/opco/{akto.slug}/budgets/{envelope.id}/modifier", data=envelope_data(allotted="3 000"))
    page = visible_text(client.get(f"/org/{akto.slug}/journal")).split("Adresse IP", 1)[-1]
    for label in (
        "Enveloppe budgétaire créée",
        "Enveloppe budgétaire modifiée",
        "Alerte de consommation d'une enveloppe budgétaire",
        "Fonds légaux (entreprises de moins de 50 salariés)",
        "Refuser les nouvelles inscriptions",
    ):
        assert label in page
    assert "montant alloué : 1 000,00 € → 3 000,00 €" in page.replace("\u202f", " ").replace("\u00a0", " ")
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", page) and "Autre événement" not in page
