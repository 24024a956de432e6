"""The Alembic history: upgrade, downgrade to base, upgrade again, and agreement with the models.

Runs on the suite's kind of database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set), in a
separate throwaway database so the suite's own tables are untouched.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from marketplace.extensions import db
from tests.conftest import MIGRATIONS_DIR


@pytest.fixture
def migration_app(app_factory, scratch_database_url):
    return app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)


def _tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _revision(app) -> str | None:
    with app.app_context(), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_downgrade_upgrade(migration_app):
    model_tables = set(db.metadata.tables)
    with migration_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    assert _tables(migration_app) == model_tables
    head = _revision(migration_app)
    assert head is not None

    with migration_app.app_context():
        downgrade(directory=str(MIGRATIONS_DIR), revision="base")
    assert _tables(migration_app) == set()
    assert _revision(migration_app) is None

    with migration_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    assert _tables(migration_app) == model_tables
    assert _revision(migration_app) == head


def test_models_and_migrations_agree(migration_app):
    """What `flask db migrate` would generate after the last revision: nothing. Nothing is ignored."""
    with migration_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == [], "les modèles et les migrations divergent : lancez `flask db migrate`"
