"""The migration gives existing sessions the copies of their action's title and duration (the catalogue sorts
on them from an index), and leaves the text-search triggers in place."""

from __future__ import annotations

from decimal import Decimal

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from marketplace.extensions import db
from marketplace.models import CollectiveAction, utcnow
from marketplace.services import search_index
from tests.conftest import MIGRATIONS_DIR

BEFORE, REVISION = "c7e3a9d1f482", "a8d2f4c6e135"


def insert(conn, table, **values):
    columns = ", ".join(values)
    conn.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
    )


def _catalogue(conn) -> None:
    """An OPCO, a training organisation, two actions and three sessions, written as older code did."""
    now = utcnow()
    insert(conn, "ref_opcos", code="akto", name="AKTO", sectors="Services")
    insert(conn, "ref_regions", code="84", name="Auvergne-Rhône-Alpes")
    insert(conn, "ref_themes", code="31", label="Management", system="nsf")
    for id_, kind in ((1, "opco"), (2, "provider")):
        insert(
            conn, "organisations", id=id_, kind=kind, name=f"Orga {id_}", slug=f"orga-{id_}", created_at=now
        )
    insert(conn, "opcos", id=1, code="akto")
    insert(
        conn,
        "training_providers",
        id=2,
        siret="73282932000074",
        siren="732829320",
        nda="84691234569",
        vat_regime="exonere",
        region_code="84",
        address="1 rue",
        postal_code="69003",
        city="Lyon",
        qualiopi_certifier="Certif",
        qualiopi_number="Q-1",
        qualiopi_categories="actions",
        qualiopi_issued_on="2025-01-01",
        qualiopi_expires_on="2028-01-01",
    )
    for id_, title, hours in ((1, "Soudure TIG", "21"), (2, "Anglais", "10.5")):
        insert(
            conn,
            "collective_actions",
            id=id_,
            opco_id=1,
            reference=f"AC-{id_}",
            title=title,
            objectives="",
            programme="",
            prerequisites="",
            target_public="",
            theme_code="31",
            modality="presentiel",
            duration_hours=hours,
            campaign_year=2026,
            is_national=True,
            price_cents=100_000,
            cancellation_days=10,
            requires_approval=False,
            status="published",
            search_text=title.lower(),
            created_at=now,
        )
        insert(
            conn,
            "referencings",
            id=id_,
            opco_id=1,
            action_id=id_,
            provider_id=2,
            valid_from="2026-01-01",
            valid_until="2027-12-31",
            price_cents=100_000,
            status="active",
            created_at=now,
        )
    for id_, action_id in ((1, 1), (2, 2), (3, 1)):
        insert(
            conn,
            "training_sessions",
            id=id_,
            action_id=action_id,
            provider_id=2,
            opco_id=1,
            referencing_id=action_id,
            status="open",
            start_date="2027-03-01",
            end_date="2027-03-03",
            registration_deadline="2027-02-20",
            capacity_min=1,
            capacity_max=10,
            seats_held=0,
            is_remote=False,
            address="1 rue",
            postal_code="69003",
            city="Lyon",
            trainer_names="",
            contact_name="",
            contact_email="",
            contact_phone="",
            price_cents=100_000,
            notes="",
            created_at=now,
        )


def test_existing_sessions_get_their_action_title_and_duration(
    app_factory, scratch_database_url, is_postgres
):
    app = app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE)
        with db.engine.begin() as conn:
            _catalogue(conn)
        upgrade(directory=str(MIGRATIONS_DIR), revision=REVISION)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, action_title, action_duration_hours FROM training_sessions ORDER BY id")
            ).all()
        assert [(id_, title, Decimal(str(hours))) for id_, title, hours in rows] == [
            (1, "Soudure TIG", Decimal("21")),
            (2, "Anglais", Decimal("10.5")),
            (3, "Soudure TIG", Decimal("21")),
        ]
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("training_sessions")}
        assert {"ix_training_sessions_by_title", "ix_training_sessions_by_duration"} <= indexes
        if is_postgres:  # the planner learns that a session's action decides its OPCO
            statistics = db.session.execute(text("SELECT stxname FROM pg_statistic_ext")).scalars().all()
            assert "st_training_sessions_action_opco" in statistics
        else:  # collective_actions was not rebuilt: its text-search triggers are still there
            triggers = set(
                db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            )
            assert any(search_index.ACTION_FTS in name for name in triggers), triggers

        # From now on the model keeps them: an action renamed renames its sessions (the model is the last
        # revision's, which later migrations may have added to).
        upgrade(directory=str(MIGRATIONS_DIR), revision="head")
        action = db.session.get(CollectiveAction, 2)
        action.title = "Anglais des affaires"
        db.session.commit()
        with db.engine.connect() as conn:
            titles = conn.execute(text("SELECT action_title FROM training_sessions ORDER BY id")).scalars()
            assert list(titles) == ["Soudure TIG", "Anglais des affaires", "Soudure TIG"]
        db.session.remove()

        downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE)
        columns = {c["name"] for c in inspect(db.engine).get_columns("training_sessions")}
        assert "action_title" not in columns
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM training_sessions")).scalar() == 3
