"""Where an address is: postal code → département → region (issue 8, case 9)."""

from __future__ import annotations

import pytest

from marketplace.services.errors import DomainError
from marketplace.services.places import departement_of_postal_code, region_for_address, region_of_postal_code


@pytest.mark.parametrize(
    ("postal_code", "departement", "region"),
    [
        ("75008", "75", "11"),  # Paris 8e → Île-de-France
        ("92081", "92", "11"),  # Paris La Défense Cedex: a CEDEX code keeps its département's digits
        ("20000", "2A", "94"),  # Ajaccio → Corse-du-Sud
        ("20167", "2A", "94"),
        ("20200", "2B", "94"),  # Bastia → Haute-Corse
        ("20600", "2B", "94"),
        ("97411", "974", "04"),  # Saint-Paul → La Réunion
        ("97100", "971", "01"),
        ("97300", "973", "03"),
        ("97600", "976", "06"),
        ("57000", "57", "44"),  # Metz → Grand Est
        ("01000", "01", "84"),
        ("13002", "13", "93"),
        ("31000", "31", "76"),
        ("97133", "BL", None),  # Saint-Barthélemy: no French region
        ("97500", "975", None),  # Saint-Pierre-et-Miquelon
        ("98000", "980", None),  # Monaco
        ("00100", None, None),
        ("20900", None, None),
        ("7500", None, None),
    ],
)
def test_postal_code_gives_departement_and_region(postal_code, departement, region):
    assert departement_of_postal_code(postal_code) == departement
    assert region_of_postal_code(postal_code) == region


def test_every_region_of_the_reference_table_has_departements(db_session):
    from sqlalchemy import select

    from marketplace.models import Region
    from marketplace.services.places import REGION_OF_DEPARTEMENT

    assert set(REGION_OF_DEPARTEMENT.values()) == set(db_session.scalars(select(Region.code)))
    assert len(REGION_OF_DEPARTEMENT) == 101  # 96 in mainland France and Corse, 5 overseas


def test_region_is_derived_or_checked(db_session):
    assert region_for_address("75008", None) == "11"
    assert region_for_address("75008", "11") == "11"
    with pytest.raises(DomainError) as refused:
        region_for_address("75008", "76")
    assert refused.value.field == "region_code"
    assert refused.value.message == (
        "Le code postal 75008 se trouve dans la région Île-de-France, pas dans la région Occitanie : "
        "corrigez le code postal ou laissez la région se déduire du code postal."
    )
    with pytest.raises(DomainError) as outside:
        region_for_address("97500", None)
    assert outside.value.field == "postal_code"


def test_the_migration_gives_existing_rows_the_region_of_their_postal_code(app_factory, scratch_database_url):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from marketplace.extensions import db
    from tests.conftest import MIGRATIONS_DIR

    app = app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    now = "2026-11-02 10:00:00"

    def insert(conn, table, **values):
        columns = ", ".join(values)
        conn.execute(
            text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
        )

    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="e2b9d4c7a803")
        with db.engine.begin() as conn:
            insert(conn, "ref_opcos", code="akto", name="AKTO", sectors="Services")
            for code, name in (
                ("11", "Île-de-France"),
                ("76", "Occitanie"),
                ("94", "Corse"),
                ("04", "La Réunion"),
            ):
                insert(conn, "ref_regions", code=code, name=name)
            insert(conn, "ref_idcc", idcc="3043", label="Propreté", opco_code="akto", source="test")
            # (id, postal code, region typed freely): Paris claiming Occitanie, Ajaccio right, a code with no region.
            for id_, postal_code, region in ((1, "75008", "76"), (2, "20000", "94"), (3, "98000", "11")):
                insert(
                    conn,
                    "organisations",
                    id=id_,
                    kind="company",
                    name=f"Org {id_}",
                    slug=f"org-{id_}",
                    created_at=now,
                )
                insert(
                    conn,
                    "companies",
                    id=id_,
                    siret=f"7328293200007{id_}",
                    siren="732829320",
                    ape_code="8121Z",
                    idcc="3043",
                    headcount=20,
                    region_code=region,
                    address="1 rue",
                    postal_code=postal_code,
                    city="Ville",
                )

        upgrade(directory=str(MIGRATIONS_DIR), revision="a9e4c2d1b605")
        with db.engine.connect() as conn:
            regions = conn.execute(text("SELECT id, region_code FROM companies ORDER BY id")).all()
    assert [tuple(r) for r in regions] == [(1, "11"), (2, "94"), (3, "11")]
