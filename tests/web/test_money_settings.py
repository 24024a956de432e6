"""Money settings: the OPCO's funding flow, the action's override and dédit rate (frozen on enrolments), and
the referencing's pricing mode."""

from datetime import timedelta

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import CollectiveAction, Opco, Referencing
from tests.web.pages import text
from tests.web.test_opco_catalogue import form_data

TODAY = paris_today()


def _admin(make, client, login):
    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    login(client, admin)
    return opco


def test_opco_chooses_its_funding_flow(client, login, make):
    opco = _admin(make, client, login)
    url = f"/opco/{opco.slug}/parametres"
    assert "Subrogation de paiement" in text(client.get(url))
    saved = client.post(url, data={"waitlist_offer_hours": "48", "funding_flow": "direct_purchase"})
    assert saved.status_code == 303
    assert db.session.get(Opco, opco.id, populate_existing=True).funding_flow == "direct_purchase"
    refused = client.post(url, data={"waitlist_offer_hours": "48", "funding_flow": "cheque"})
    assert refused.status_code == 422
    assert "Choisissez « Subrogation de paiement » ou « Achat direct »." in text(refused)


def test_action_overrides_the_flow_and_sets_a_dedit_frozen_on_enrolment(client, login, make):
    opco = _admin(make, client, login)
    url = f"/opco/{opco.slug}/catalogue/nouvelle"
    refused = client.post(url, data=form_data(dedit_rate_pct="101"))
    assert refused.status_code == 422
    assert "de 0 à 100" in text(refused)
    created = client.post(url, data=form_data(funding_flow="direct_purchase", dedit_rate_pct="30"))
    assert created.status_code == 303
    action = db.session.query(CollectiveAction).one()
    assert (action.funding_flow, action.dedit_rate_pct) == ("direct_purchase", 30)
    action.status = "published"
    db.session.commit()
    session = make.session(action)
    enrolment = make.enrolment(session)
    assert enrolment.dedit_rate_pct == 30
    action.dedit_rate_pct = 50
    db.session.commit()
    db.session.refresh(enrolment)
    assert enrolment.dedit_rate_pct == 30  # frozen: not retroactive


def test_referencing_pricing_mode(client, login, make):
    opco = _admin(make, client, login)
    action = make.action(opco, price_cents=100_000)
    referencing = make.referencing(action)
    assert referencing.pricing_mode == "per_trainee"
    url = f"/opco/{opco.slug}/catalogue/{action.id}/referencements/{referencing.id}/modifier"
    base = {
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=90)).isoformat(),
        "price": "1 000",
    }
    refused = client.post(url, data={**base, "pricing_mode": "group", "group_price": "5 000"})
    assert refused.status_code == 422
    assert "Indiquez le seuil d'assiduité (%)." in text(refused)
    saved = client.post(
        url, data={**base, "pricing_mode": "group", "group_price": "5 000", "group_threshold": "70"}
    )
    assert saved.status_code == 303
    row = db.session.get(Referencing, referencing.id, populate_existing=True)
    assert (row.pricing_mode, row.group_price_cents, row.group_threshold_pct) == ("group", 500_000, 70)
    saved = client.post(url, data={**base, "pricing_mode": "per_hour", "hourly_rate": "45,50"})
    row = db.session.get(Referencing, referencing.id, populate_existing=True)
    assert (row.pricing_mode, row.hourly_rate_cents, row.group_price_cents) == ("per_hour", 4550, None)
