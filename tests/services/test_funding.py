"""Funding figures: HT or TTC basis, VAT by regime and place of delivery, frozen on the enrolment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.extensions import db
from marketplace.models import Enrolment
from marketplace.services import enrolments, funding
from marketplace.services.places import departement_of_postal_code


@pytest.fixture
def company(make):
    return make.company(opco_code="akto", headcount=20)  # 11-49


@pytest.fixture
def hr(make, company):
    user = make.user()
    make.member(company, user, "hr")
    return user


def _session(make, *, regime: str, postal_code: str, region_code: str, opco_basis="ht", action_basis=None):
    opco = make.opco("akto")
    opco.funding_basis = opco_basis
    action = make.action(opco, price_cents=100_000, shares={"11-49": 80})
    action.funding_basis = action_basis
    session = make.session(action, make.provider(vat_regime=regime), region_code=region_code)
    session.postal_code = postal_code
    db.session.commit()
    return session


# 1 000 € HT, 80 % funded: (basis, regime, place) → VAT, TTC price, what the OPCO pays, what the company pays TTC.
WORKED_EXAMPLES = [
    # HT basis: the company owes the VAT on the whole price.
    ("ht", "exonere", "69003", "84", "0", 0, 100_000, 80_000, 20_000),  # 261-4-4° a
    ("ht", "franchise", "69003", "84", "0", 0, 100_000, 80_000, 20_000),  # 293 B
    ("ht", "assujetti", "69003", "84", "0.20", 20_000, 120_000, 80_000, 40_000),  # mainland: 1 200 − 800 = 400
    ("ht", "assujetti", "20000", "94", "0.20", 20_000, 120_000, 80_000, 40_000),  # Corse
    ("ht", "assujetti", "97411", "04", "0.085", 8_500, 108_500, 80_000, 28_500),  # La Réunion
    ("ht", "assujetti", "97200", "02", "0.085", 8_500, 108_500, 80_000, 28_500),  # Martinique
    ("ht", "assujetti", "97110", "01", "0.085", 8_500, 108_500, 80_000, 28_500),  # Guadeloupe
    ("ht", "assujetti", "97300", "03", "0", 0, 100_000, 80_000, 20_000),  # Guyane: no VAT
    ("ht", "assujetti", "97600", "06", "0", 0, 100_000, 80_000, 20_000),  # Mayotte: no VAT
    # TTC basis: the OPCO funds its share of the VAT too.
    ("ttc", "exonere", "69003", "84", "0", 0, 100_000, 80_000, 20_000),
    ("ttc", "franchise", "69003", "84", "0", 0, 100_000, 80_000, 20_000),
    ("ttc", "assujetti", "69003", "84", "0.20", 20_000, 120_000, 96_000, 24_000),
    ("ttc", "assujetti", "97411", "04", "0.085", 8_500, 108_500, 86_800, 21_700),
    ("ttc", "assujetti", "97300", "03", "0", 0, 100_000, 80_000, 20_000),
]


@pytest.mark.parametrize(
    ("basis", "regime", "postal_code", "region", "rate", "vat", "ttc", "opco_pays", "company_pays"), WORKED_EXAMPLES
)
def test_worked_funding_examples_are_frozen_on_the_enrolment(
    make, company, hr, basis, regime, postal_code, region, rate, vat, ttc, opco_pays, company_pays
):
    session = _session(make, regime=regime, postal_code=postal_code, region_code=region, opco_basis=basis)
    figures = funding.for_session(session, "11-49", company)
    assert (figures.vat_rate, figures.vat_cents, figures.price_ttc_cents) == (Decimal(rate), vat, ttc)
    assert (figures.opco_amount_cents, figures.remainder_ttc_cents) == (opco_pays, company_pays)
    # The HT share funded is the same on both bases; the HT remainder is what the OPCO leaves of the HT price.
    assert (figures.funded_cents, figures.remainder_cents) == (80_000, 20_000)

    [outcome] = enrolments.enrol(company, session.id, [make.employee(company).id], hr)
    db.session.commit()
    e = db.session.get(Enrolment, outcome.enrolment.id)
    assert (e.price_cents, e.vat_rate, e.vat_cents, e.price_ttc_cents) == (100_000, Decimal(rate), vat, ttc)
    assert (e.funding_basis, e.funded_cents, e.opco_amount_cents, e.remainder_ttc_cents) == (
        basis, 80_000, opco_pays, company_pays,
    )


def test_the_action_overrides_the_opco_basis(make, company):
    session = _session(make, regime="assujetti", postal_code="69003", region_code="84", opco_basis="ht",
                       action_basis="ttc")
    assert funding.for_session(session, "11-49").remainder_ttc_cents == 24_000
    session.action.funding_basis = None
    assert funding.for_session(session, "11-49").remainder_ttc_cents == 40_000


def test_frozen_figures_do_not_follow_later_changes(make, company, hr):
    session = _session(make, regime="assujetti", postal_code="69003", region_code="84")
    e = make.enrolment(session, company, actor=hr)
    session.provider.vat_regime = "exonere"
    session.action.opco.funding_basis = "ttc"
    db.session.commit()
    e = db.session.get(Enrolment, e.id)
    assert (e.price_ttc_cents, e.opco_amount_cents, e.remainder_ttc_cents) == (120_000, 80_000, 40_000)
    assert funding.for_session(session, "11-49").remainder_ttc_cents == 20_000


def test_a_remote_session_is_taxed_where_the_company_is(make, hr):
    company = make.company(opco_code="akto", headcount=20, region_code="04", postal_code="97400", city="Saint-Denis")
    action = make.action(make.opco("akto"), price_cents=100_000, shares={"11-49": 80})
    session = make.session(action, make.provider(vat_regime="assujetti"), is_remote=True)
    assert funding.for_session(session, "11-49", company).vat_rate == Decimal("0.085")


@pytest.mark.parametrize(
    ("postal_code", "departement"),
    [("57000", "57"), ("67000", "67"), ("20000", "2A"), ("20200", "2B"), ("97411", "974"), ("97133", "BL"),
     ("75008", "75"), ("75380", "75"), ("", None), ("7500", None)],
)
def test_departement_of_postal_code(postal_code, departement):
    assert departement_of_postal_code(postal_code) == departement


def test_the_demo_shows_vat_liable_and_exempt_organisations_with_their_ttc_figures(cli):
    from sqlalchemy import select

    from marketplace.models import TrainingProvider

    assert cli("seed-demo").exit_code == 0
    rows = db.session.execute(
        select(Enrolment, TrainingProvider.vat_regime).join(TrainingProvider, TrainingProvider.id == Enrolment.provider_id)
    ).all()
    by_regime = {}
    for e, regime in rows:
        by_regime.setdefault(regime, []).append(e)
        assert e.price_ttc_cents == e.price_cents + e.vat_cents
        assert e.remainder_ttc_cents == e.price_ttc_cents - e.opco_amount_cents
    assert {"exonere", "assujetti"} <= set(by_regime)
    assert all(e.vat_cents == 0 and e.remainder_ttc_cents == e.remainder_cents for e in by_regime["exonere"])
    liable = by_regime["assujetti"]
    assert all(e.vat_rate == Decimal("0.2") and e.vat_cents == e.price_cents // 5 for e in liable)
    # Funded on the HT price, the company owes the VAT on the whole price; on the TTC price, its share of it.
    assert any(e.funding_basis == "ht" and e.remainder_ttc_cents == e.remainder_cents + e.vat_cents for e in liable)
    assert any(e.funding_basis == "ttc" and e.opco_amount_cents > e.funded_cents for e in liable)
