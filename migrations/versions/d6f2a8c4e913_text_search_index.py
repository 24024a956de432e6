"""text-search index: organisations.search_name, SQLite FTS5 trigram tables, PostgreSQL trigram indexes

Revision ID: d6f2a8c4e913
Revises: 6adb381e27d1
Create Date: 2026-11-30 08:30:00

- organisations.search_name: the name lower-cased and accent-free (NFKD, combining marks dropped: the rule
  of ``services.text.search_key``), computed here for existing rows, then kept by the model.
- SQLite: FTS5 tables ``action_search`` (collective_actions.search_text) and ``organisation_search``
  (organisations.search_name), ``trigram`` tokenizer, external content, kept in sync by triggers.
- PostgreSQL: extension pg_trgm and GIN trigram indexes on the same two columns.

The statements are copied from ``services/search_index.py`` (a migration does not import code that may
change); ``flask rebuild-search`` recreates what is missing and refills the index.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d6f2a8c4e913"
down_revision = "6adb381e27d1"
branch_labels = None
depends_on = None

SQLITE_TABLES = (
    ("action_search", "collective_actions", "search_text"),
    ("organisation_search", "organisations", "search_name"),
)
POSTGRES_INDEXES = (
    ("ix_collective_actions_search_trgm", "collective_actions", "search_text"),
    ("ix_organisations_search_name_trgm", "organisations", "search_name"),
)


def _search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def upgrade():
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_name", sa.Text(), server_default="", nullable=False))

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM organisations")).fetchall()
    updates = [{"i": i, "s": _search_key(name)} for i, name in rows]
    if updates:
        bind.execute(sa.text("UPDATE organisations SET search_name = :s WHERE id = :i"), updates)

    if bind.dialect.name == "sqlite":
        for fts, content, col in SQLITE_TABLES:
            op.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5("
                f"{col}, content='{content}', content_rowid='id', tokenize='trigram')"
            )
            op.execute(
                f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {content} BEGIN "
                f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END"
            )
            op.execute(
                f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {content} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); END"
            )
            op.execute(
                f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {content} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); "
                f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END"
            )
            op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, content, col in POSTGRES_INDEXES:
            op.execute(
                f"CREATE INDEX {name} ON {content} USING gin ({col} gin_trgm_ops) WITH (fastupdate = off)"
            )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for fts, _content, _col in SQLITE_TABLES:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    elif bind.dialect.name == "postgresql":
        for name, _content, _col in POSTGRES_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # pg_trgm stays: other objects of the database may use it.

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("search_name")
