"""The Alembic history: upgrade, downgrade to base, upgrade again, and agreement with the models.

Runs on the suite's kind of database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set), in a
separate throwaway database so the suite's own tables are untouched.
"""

from __future__ import annotations

import shutil
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from marketplace.extensions import db
from marketplace.services import search_index
from tests.conftest import MIGRATIONS_DIR


@pytest.fixture
def migration_app(app_factory, scratch_database_url):
    return app_factory(SQLALCHEMY_DATABASE_URI=scratch_database_url)


def _tables(app) -> set[str]:
    """The tables, without the text-search index's (SQLite FTS5 tables, not models: services/search_index)."""
    with app.app_context():
        names = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        return {n for n in names if not search_index.is_index_object(n)}


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
    """What `flask db migrate` would generate after the last revision: nothing. Nothing is ignored but the
    text-search index (FTS5 tables, trigram indexes), made by hand in its migration (services/search_index)."""
    with migration_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": search_index.include_name}
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == [], "les modèles et les migrations divergent : lancez `flask db migrate`"


def test_a_later_batch_migration_keeps_the_rows_of_referencing_tables(migration_app, tmp_path):
    """Batch mode rebuilds a SQLite table (copy, drop, rename). With foreign keys enforced, dropping
    ``organisations`` would cascade and silently empty ``memberships``: env.py turns enforcement off for
    the migration. A throwaway revision that changes a column type of ``organisations`` proves it."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    with migration_app.app_context():
        upgrade(directory=str(directory))
        head = _revision(migration_app)
        (directory / "versions" / "zz_rebuild_organisations.py").write_text(
            textwrap.dedent(f'''
            import sqlalchemy as sa
            from alembic import op

            revision = "zz_rebuild"
            down_revision = "{head}"
            branch_labels = None
            depends_on = None

            def upgrade():
                with op.batch_alter_table("organisations") as batch_op:
                    batch_op.alter_column("name", type_=sa.String(250), existing_nullable=False)

            def downgrade():
                with op.batch_alter_table("organisations") as batch_op:
                    batch_op.alter_column("name", type_=sa.String(200), existing_nullable=False)
        ''')
        )
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, kind, name, slug, created_at) "
                    "VALUES (1, 'company', 'Lumière', 'lumiere', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO users (id, email, full_name, password_hash, is_operator, "
                    "is_active_account, created_at) VALUES (1, 'a@exemple.fr', 'A B', 'x', "
                    "false, true, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO memberships (user_id, organisation_id, role, created_at) "
                    "VALUES (1, 1, 'admin', CURRENT_TIMESTAMP)"
                )
            )

        upgrade(directory=str(directory))
        assert _revision(migration_app) == "zz_rebuild"
        downgrade(directory=str(directory), revision=head)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
            assert conn.execute(text("SELECT name FROM organisations")).scalar() == "Lumière"
