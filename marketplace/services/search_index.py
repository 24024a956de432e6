"""The text-search index: which actions and which organisations contain a word, answered by an index.

The searched texts are the actions' ``search_text`` (lower-cased reference, title, objectives and theme, plus
their accent-free copy: ``catalogue.search_text_for``) and the organisations' ``search_name`` (the name,
lower-cased and accent-free: ``text.search_key``, kept by the model on every change of ``name``). A word
matches when it appears anywhere in them, as ``LIKE '%word%'`` always did, so results and accent/case
folding are those of the former scans; only the way they are found changes:

- SQLite: FTS5 tables with the ``trigram`` tokenizer (substring matches for words of 3 characters or more)
  on the two columns, as external-content tables kept in sync by triggers on every insert, update and
  delete. Shorter words (« a », « 3d ») cannot be looked up in a trigram index: they scan the column, a few
  thousand short rows.
- PostgreSQL: GIN trigram indexes (``pg_trgm``) on the two columns, used by ``LIKE '%word%'`` itself;
  ``fastupdate = off``: these tables change rarely, and a pending list of unmerged entries (the default)
  makes the planner scan the table instead (measured: 9 ms instead of 0.1 ms on 24 000 organisations).

Installed by the migration (and by ``install`` after ``db.create_all``), rebuilt by ``flask rebuild-search``
(which also recomputes every ``search_name``, e.g. after a bulk import that bypassed the model). A batch
migration that later rebuilds ``collective_actions`` or ``organisations`` on SQLite drops their triggers:
it must call ``install`` (or run ``flask rebuild-search``) after.
"""

from __future__ import annotations

from sqlalchemy import column, event, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection

from marketplace.extensions import db
from marketplace.models import CollectiveAction, Organisation
from marketplace.models.training_session import copy_action_columns
from marketplace.services.text import search_key

ACTION_FTS = "action_search"
ORGANISATION_FTS = "organisation_search"
POSTGRES_INDEXES = ("ix_collective_actions_search_trgm", "ix_organisations_search_name_trgm")
MIN_INDEXED = 3  # a trigram index finds substrings of 3 characters or more

_action_fts = table(ACTION_FTS, column("rowid"), column("search_text"))
_organisation_fts = table(ORGANISATION_FTS, column("rowid"), column("search_name"))

# (FTS table, content table, column), for SQLite.
_SQLITE_TABLES = (
    (ACTION_FTS, "collective_actions", "search_text"),
    (ORGANISATION_FTS, "organisations", "search_name"),
)


def is_index_object(name: str | None) -> bool:
    """True for the tables (and their FTS5 shadow tables) and indexes of the search index: made by hand in the
    migration, not declared in the models, so the models/migrations comparison leaves them out."""
    if not name:
        return False
    return name.startswith((ACTION_FTS, ORGANISATION_FTS)) or name in POSTGRES_INDEXES


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook: everything but the search index (see ``is_index_object``)."""
    return not (type_ in ("table", "index") and is_index_object(name))


def _sqlite_ddl() -> list[str]:
    statements = []
    for fts, content, col in _SQLITE_TABLES:
        statements += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
            f"{col}, content='{content}', content_rowid='id', tokenize='trigram')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {content} BEGIN "
            f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {content} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {col} ON {content} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); "
            f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END",
        ]
    return statements


_POSTGRES_DDL = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {POSTGRES_INDEXES[0]} ON collective_actions USING gin (search_text gin_trgm_ops) WITH (fastupdate = off)",
    f"CREATE INDEX IF NOT EXISTS {POSTGRES_INDEXES[1]} ON organisations USING gin (search_name gin_trgm_ops) WITH (fastupdate = off)",
]


def install(connection: Connection) -> None:
    """Create what is missing of the index (idempotent); the rows already there are not indexed by this."""
    if connection.dialect.name == "sqlite":
        for statement in _sqlite_ddl():
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        for statement in _POSTGRES_DDL:
            connection.exec_driver_sql(statement)


def uninstall(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for fts, _content, _col in _SQLITE_TABLES:
            for suffix in ("ai", "ad", "au"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
    elif connection.dialect.name == "postgresql":
        for name in POSTGRES_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


@event.listens_for(db.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:
    """``db.create_all()`` (tests, benchmarks) gets the same index as the migrations."""
    install(connection)


@event.listens_for(db.metadata, "before_drop")
def _before_drop(target, connection, **kw) -> None:
    uninstall(connection)


def rebuild(batch: int = 5_000) -> dict[str, int]:
    """Recompute every organisation's ``search_name`` and the sessions' copies of their action's title and
    duration (the catalogue's sorts), then rebuild the index from the tables (the caller commits). Returns the
    rows indexed per table."""
    connection = db.session.connection()
    install(connection)
    changed = 0
    last_id = 0
    while True:
        rows = connection.execute(
            select(Organisation.id, Organisation.name, Organisation.search_name)
            .where(Organisation.id > last_id)
            .order_by(Organisation.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        updates = [{"i": r.id, "s": search_key(r.name)} for r in rows if r.search_name != search_key(r.name)]
        if updates:
            connection.execute(text("UPDATE organisations SET search_name = :s WHERE id = :i"), updates)
            changed += len(updates)
    copied = copy_action_columns(
        connection
    )  # the sessions' sort copies (catalogue sorted by title, duration)
    if connection.dialect.name == "sqlite":
        for fts, _content, _col in _SQLITE_TABLES:
            connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    elif connection.dialect.name == "postgresql":
        # The GIN indexes follow every write (no REINDEX, which would lock the tables); fresh statistics
        # let the planner choose them.
        connection.exec_driver_sql("ANALYZE collective_actions")
        connection.exec_driver_sql("ANALYZE organisations")
    counts = {
        "actions": connection.execute(
            select(literal_column("count(*)")).select_from(CollectiveAction)
        ).scalar(),
        "organisations": connection.execute(
            select(literal_column("count(*)")).select_from(Organisation)
        ).scalar(),
    }
    counts["noms recalculés"] = changed
    counts["sessions recopiées"] = copied
    return counts


# --- Queries -----------------------------------------------------------------------------------------------


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrases(forms: list[str]) -> str:
    """An FTS5 query matching any of the forms as a substring (trigram phrases, quotes doubled)."""
    return " OR ".join('"' + form.replace('"', '""') + '"' for form in forms)


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def action_condition(word: str):
    """A condition on ``CollectiveAction``: the word (lower-cased) is in its search text, as typed or without
    accents (the text holds both forms)."""
    forms = sorted({word, search_key(word)})
    if _sqlite() and all(len(form) >= MIN_INDEXED for form in forms):
        matching = select(_action_fts.c.rowid).where(_action_fts.c.search_text.op("MATCH")(_phrases(forms)))
        return CollectiveAction.id.in_(matching)
    return or_(*(CollectiveAction.search_text.like(_like(form), escape="\\") for form in forms))


def organisations_matching(word: str):
    """Ids of the training organisations whose name contains the word, accents and case folded (a sub-select).

    The index holds every organisation's name: a common word (« entreprise ») is in thousands of companies'
    names, which the catalogue search must not read back. Only training organisations are kept, in SQL.
    """
    folded = search_key(word)
    # The plain table (not the polymorphic entity, whose outer joins SQLite cannot flatten).
    organisations = Organisation.__table__
    providers = organisations.c.kind == "provider"
    if _sqlite() and len(folded) >= MIN_INDEXED:
        matching = select(_organisation_fts.c.rowid).where(
            _organisation_fts.c.search_name.op("MATCH")(_phrases([folded]))
        )
        return select(organisations.c.id).where(organisations.c.id.in_(matching), providers)
    return select(organisations.c.id).where(
        providers, organisations.c.search_name.like(_like(folded), escape="\\")
    )
