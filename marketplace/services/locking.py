"""Row locks for scarce things (seats): taken once per transaction, late, before counting.

PostgreSQL: ``SELECT … FOR UPDATE`` on the session row; concurrent enrolments on the same session
queue behind it and then see each other's committed rows. SQLite serialises writers: a write on the row
takes the database's write lock for the rest of the transaction (pysqlite opens the transaction right
before that first write, so no stale read snapshot is held), which has the same effect.
"""

from __future__ import annotations

from sqlalchemy import select, update

from marketplace.extensions import db
from marketplace.models import TrainingSession
from marketplace.services.errors import NotFound


def lock_session(session_id: int) -> TrainingSession:
    """Lock the session row until the end of the transaction and return it freshly loaded."""
    table = TrainingSession.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        found = db.session.execute(select(table.c.id).where(table.c.id == session_id).with_for_update()).first()
    else:
        found = db.session.execute(
            update(table).where(table.c.id == session_id).values(seats_held=table.c.seats_held)
        ).rowcount
    if not found:
        raise NotFound("Cette session n'existe pas.")
    return db.session.get(TrainingSession, session_id, populate_existing=True)
