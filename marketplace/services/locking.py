"""Row locks for scarce things (seats, members, numbers): taken once per transaction, late, before counting.

PostgreSQL: ``SELECT … FOR UPDATE`` on the row; concurrent writers queue behind it and then see each other's
committed rows. The wait is bounded by ``lock_timeout`` (``LOCK_TIMEOUT_MS``, 3 s like pretix): past it the
database refuses and we answer « réessayez » (``LockBusy``, 409) instead of holding a worker for ever.
SQLite serialises writers: a write on the row takes the database's write lock for the rest of the transaction
(pysqlite opens the transaction right before that first write, so no stale read snapshot is held), which has
the same effect; its ``busy_timeout`` bounds the wait there.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.models import TrainingSession
from marketplace.services.errors import DomainError, NotFound

LOCK_TIMEOUT_MS = 3000
BUSY_MESSAGE = (
    "Beaucoup de personnes font la même opération en ce moment : rien n'a été enregistré. "
    "Réessayez dans quelques secondes."
)


class LockBusy(DomainError):
    """The row stayed locked by another request longer than ``LOCK_TIMEOUT_MS``."""

    def __init__(self):
        super().__init__(BUSY_MESSAGE)


def is_lock_timeout(error: OperationalError) -> bool:
    """PostgreSQL's lock_not_available, or SQLite's « database is locked » after its busy timeout."""
    return getattr(error.orig, "sqlstate", None) == "55P03" or "database is locked" in str(error.orig)


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _bounded(statement):
    """PostgreSQL: the locking statement itself sets ``lock_timeout`` for the rest of the transaction (as
    ``SET LOCAL``), so bounding the wait costs no round trip of its own. The condition is volatile, so the
    database evaluates it on the row before trying to lock it: the timeout applies to this very wait."""
    return statement.where(func.set_config("lock_timeout", f"{int(LOCK_TIMEOUT_MS)}ms", True).is_not(None))


def lock_row(table: Table, row_id: int | ColumnElement[int], params: dict | None = None) -> bool:
    """Lock one row of ``table`` until the end of the transaction; False when it does not exist.

    ``row_id`` may be a scalar subquery (which row to lock decided by the database, in the same statement),
    built once with bind parameters whose values are ``params``.
    """
    postgresql = is_postgresql()
    if isinstance(row_id, int):
        row_id, params = _ROW_ID, {"row_id": row_id}
    if params is None:  # an expression built by the caller for this call only: nothing to keep
        statement = _lock_row_statement(table, row_id, postgresql)
    else:
        statement = _prepared(
            ("row", postgresql, table, row_id), lambda: _lock_row_statement(table, row_id, postgresql)
        )
    try:
        if postgresql:
            return db.session.execute(statement, params).first() is not None
        return bool(db.session.execute(statement, params).rowcount)
    except OperationalError as error:
        if is_lock_timeout(error):
            raise LockBusy() from error
        raise


def _lock_row_statement(table: Table, row_id: ColumnElement[int], postgresql: bool):
    if postgresql:
        return _bounded(select(table.c.id).where(table.c.id == row_id)).with_for_update()
    return update(table).where(table.c.id == row_id).values(id=table.c.id)


def lock_and_read(table: Table, row_id: int, statement, params: dict | None = None):
    """Lock one row of ``table`` (as ``lock_row``) and return the first row of ``statement`` (with ``params``),
    a read that must see it locked; None when the row does not exist. On PostgreSQL one round trip
    (``statement`` gets ``FOR UPDATE OF table``), so the lock is held from its first microsecond by useful work
    only."""
    if not is_postgresql():
        if not lock_row(table, row_id):
            return None
        return db.session.execute(statement, params).first()
    locking = _prepared(("read", table, statement), lambda: _bounded(statement).with_for_update(of=table))
    try:
        return db.session.execute(locking, params).first()
    except OperationalError as error:
        if is_lock_timeout(error):
            raise LockBusy() from error
        raise


_ROW_ID = bindparam("row_id")
# Locking statements built once per table and statement (built once by their callers too): building and
# keying a statement costs more than running it. Keyed by the objects themselves, which live as long as the
# process (module-level statements and tables).
_statements: dict[tuple, object] = {}


def _prepared(key: tuple, build):
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = build()
    return statement


def lock_session(session_id: int) -> TrainingSession:
    """Lock the session row until the end of the transaction and return it freshly loaded."""
    if not lock_row(TrainingSession.__table__, session_id):
        raise NotFound("Cette session n'existe pas.")
    return db.session.get(TrainingSession, session_id, populate_existing=True)
