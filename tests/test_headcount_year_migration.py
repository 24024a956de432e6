"""The migration gives existing companies the year of their headcount: the year before they signed up."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from marketplace.extensions import db
from tests.conftest import MIGRATIONS_DIR


def insert(conn, table, **values):
    columns = ", ".join(values)
    conn.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
    )


def test_existing_companies_get_the_year_before_their_sign_up(app_factory, scratch_database_url):
    app = app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="a9e4c2d1b605")
        with db.engine.begin() as conn:
            insert(conn, "ref_opcos", code="akto", name="AKTO", sectors="Services")
            insert(conn, "ref_regions", code="84", name="Auvergne-Rhône-Alpes")
            insert(conn, "ref_idcc", idcc="3043", label="Propreté", opco_code="akto", source="test")
            for id_, created_at in ((1, "2024-05-02 10:00:00"), (2, "2026-01-15 08:00:00")):
                insert(
                    conn,
                    "organisations",
                    id=id_,
                    kind="company",
                    name=f"Entreprise {id_}",
                    slug=f"entreprise-{id_}",
                    created_at=created_at,
                )
                insert(
                    conn,
                    "companies",
                    id=id_,
                    siret=f"7328293200007{id_}",
                    siren="732829320",
                    ape_code="8121Z",
                    idcc="3043",
                    headcount=20 * id_,
                    region_code="84",
                    address="1 rue",
                    postal_code="69003",
                    city="Lyon",
                )
        upgrade(directory=str(MIGRATIONS_DIR), revision="b3d7e1f4c806")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, headcount, headcount_year FROM companies ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, 20, 2023), (2, 40, 2025)]

        downgrade(directory=str(MIGRATIONS_DIR), revision="a9e4c2d1b605")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT headcount FROM companies ORDER BY id")).scalars().all() == [
                20,
                40,
            ]
