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
    (
        "ht",
        "assujetti",
        "69003",
        "84",
        "0.20",
        20_000,
        120_000,
        80_000,
        40_000,
    ),  # mainland: 1 200 − 800 = 400
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
    ("basis", "regime", "postal_code", "region", "rate", "vat", "ttc", "opco_pays", "company_pays"),
    WORKED_EXAMPLES,
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
        basis,
        80_000,
        opco_pays,
        company_pays,
    )


def test_the_action_overrides_the_opco_basis(make, company):
    session = _session(
        make, regime="assujetti", postal_code="69003", region_code="84", opco_basis="ht", action_basis="ttc"
    )
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
    company = make.company(
        opco_code="akto", headcount=20, region_code="04", postal_code="97400", city="Saint-Denis"
    )
    action = make.action(make.opco("akto"), price_cents=100_000, shares={"11-49": 80})
    session = make.session(action, make.provider(vat_regime="assujetti"), is_remote=True)
    assert funding.for_session(session, "11-49", company).vat_rate == Decimal("0.085")


@pytest.mark.parametrize(
    ("postal_code", "departement"),
    [
        ("57000", "57"),
        ("67000", "67"),
        ("20000", "2A"),
        ("20200", "2B"),
        ("97411", "974"),
        ("97133", "BL"),
        ("75008", "75"),
        ("75380", "75"),
        ("", None),
        ("7500", None),
    ],
)
def test_departement_of_postal_code(postal_code, departement):
    assert departement_of_postal_code(postal_code) == departement


def test_the_demo_shows_vat_liable_and_exempt_organisations_with_their_ttc_figures(cli):
    from sqlalchemy import select

    from marketplace.models import TrainingProvider

    assert cli("seed-demo").exit_code == 0
    rows = db.session.execute(
        select(Enrolment, TrainingProvider.vat_regime).join(
            TrainingProvider, TrainingProvider.id == Enrolment.provider_id
        )
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
    assert any(
        e.funding_basis == "ht" and e.remainder_ttc_cents == e.remainder_cents + e.vat_cents for e in liable
    )
    assert any(e.funding_basis == "ttc" and e.opco_amount_cents > e.funded_cents for e in liable)


# --- The migration freezes the figures of existing enrolments --------------------------------------------------


def test_the_migration_freezes_the_figures_of_existing_enrolments(app_factory, scratch_database_url):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tests.conftest import MIGRATIONS_DIR

    app = app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    now, day = "2026-11-02 10:00:00", "2027-01-11"

    def insert(conn, table, **values):
        columns = ", ".join(values)
        conn.execute(
            text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
        )

    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="925518d88783")
        with db.engine.begin() as conn:
            insert(conn, "ref_opcos", code="akto", name="AKTO", sectors="Services")
            for code, name in (("84", "Auvergne-Rhône-Alpes"), ("04", "La Réunion")):
                insert(conn, "ref_regions", code=code, name=name)
            insert(conn, "ref_themes", code="31", label="Management", system="nsf")
            insert(conn, "ref_idcc", idcc="3043", label="Propreté", opco_code="akto", source="test")
            orgs = [(1, "opco"), (2, "company"), (3, "provider"), (4, "provider")]
            for id_, kind in orgs:
                insert(
                    conn,
                    "organisations",
                    id=id_,
                    kind=kind,
                    name=f"Org {id_}",
                    slug=f"org-{id_}",
                    created_at=now,
                )
            insert(conn, "opcos", id=1, code="akto", waitlist_offer_hours=48)
            insert(
                conn,
                "companies",
                id=2,
                siret="73282932000074",
                siren="732829320",
                ape_code="8121Z",
                idcc="3043",
                headcount=20,
                region_code="04",
                address="1 rue",
                postal_code="97400",
                city="Saint-Denis",
                opco_id=1,
            )
            for id_, regime in ((3, "assujetti"), (4, "exonere")):
                insert(
                    conn,
                    "training_providers",
                    id=id_,
                    siret=f"0000000000000{id_}",
                    siren=f"00000000{id_}",
                    nda=f"1175000000{id_}",
                    vat_regime=regime,
                    region_code="84",
                    address="2 rue",
                    postal_code="69003",
                    city="Lyon",
                    qualiopi_certifier="AFNOR",
                    qualiopi_number=f"Q-{id_}",
                    qualiopi_categories="actions_formation",
                    qualiopi_issued_on="2025-01-01",
                    qualiopi_expires_on="2027-12-31",
                )
            insert(
                conn,
                "collective_actions",
                id=1,
                opco_id=1,
                reference="AC-1",
                title="SST",
                objectives="",
                programme="",
                prerequisites="",
                target_public="",
                theme_code="31",
                modality="presentiel",
                duration_hours=14,
                campaign_year=2027,
                is_national=True,
                price_cents=100_000,
                cap_per_company_per_session=2,
                cap_per_company_per_year=None,
                cancellation_days=7,
                requires_approval=False,
                status="published",
                search_text="",
                created_at=now,
            )
            insert(
                conn,
                "employees",
                id=1,
                company_id=2,
                last_name="Martin",
                first_name="Léa",
                email="",
                job_title="Agent",
                contract_type="cdi",
                category="employe",
                created_at=now,
            )
            # (session, provider, place): mainland VAT-liable, La Réunion VAT-liable, mainland exempt.
            places = [(1, 3, "69003", "84"), (2, 3, "97411", "04"), (3, 4, "69003", "84")]
            for provider in (3, 4):
                insert(
                    conn,
                    "referencings",
                    id=provider,
                    opco_id=1,
                    action_id=1,
                    provider_id=provider,
                    valid_from="2026-01-01",
                    valid_until="2027-12-31",
                    price_cents=100_000,
                    status="active",
                    created_at=now,
                )
            for id_, provider, postal_code, region in places:
                insert(
                    conn,
                    "training_sessions",
                    id=id_,
                    action_id=1,
                    provider_id=provider,
                    opco_id=1,
                    referencing_id=provider,
                    status="open",
                    start_date=day,
                    end_date=day,
                    registration_deadline="2027-01-01",
                    capacity_min=1,
                    capacity_max=10,
                    seats_held=1,
                    is_remote=False,
                    address="3 rue",
                    postal_code=postal_code,
                    city="Ville",
                    region_code=region,
                    trainer_names="",
                    contact_name="",
                    contact_email="",
                    contact_phone="",
                    price_cents=100_000,
                    notes="",
                    created_at=now,
                )
                insert(
                    conn,
                    "enrolments",
                    id=id_,
                    session_id=id_,
                    company_id=2,
                    employee_id=1,
                    opco_id=1,
                    provider_id=provider,
                    status="cancelled",
                    price_cents=100_000,
                    funded_cents=80_000,
                    remainder_cents=20_000,
                    size_band="11-49",
                    is_late_cancellation=False,
                    updated_at=now,
                    created_at=now,
                )

        upgrade(directory=str(MIGRATIONS_DIR), revision="e2b9d4c7a803")
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT vat_rate, vat_cents, price_ttc_cents, funding_basis, opco_amount_cents, remainder_ttc_cents, "
                    "cancellation_days, cap_per_session, cap_per_year FROM enrolments ORDER BY id"
                )
            ).all()
    assert [(Decimal(str(r[0])), *r[1:]) for r in rows] == [
        (Decimal("0.2"), 20_000, 120_000, "ht", 80_000, 40_000, 7, 2, None),
        (Decimal("0.085"), 8_500, 108_500, "ht", 80_000, 28_500, 7, 2, None),
        (Decimal("0"), 0, 100_000, "ht", 80_000, 20_000, 7, 2, None),
    ]
