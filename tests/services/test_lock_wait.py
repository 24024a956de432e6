"""The wait for a row lock is bounded in every transaction that takes one (``services.locking``), also when
the lock is its first statement, by the locking statement itself: no round trip of its own, however many
locks the transaction takes (the enrolment takes two)."""

from __future__ import annotations

from sqlalchemy import event, text

from marketplace.extensions import db
from marketplace.models import Company
from marketplace.services import locking


def test_every_transaction_bounds_its_lock_wait_once(make):
    company = make.company()
    db.session.commit()
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(2):  # each transaction starts with the lock
            assert locking.lock_row(Company.__table__, company.id)
            assert locking.lock_row(Company.__table__, company.id)
            if locking.is_postgresql():
                assert db.session.execute(text("SHOW lock_timeout")).scalar() == "3s"
            db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert not [s for s in sent if s.startswith("SET")]  # no statement of its own
    locks = [s for s in sent if "FOR UPDATE" in s or s.startswith("UPDATE")]
    assert len(locks) == 4
    if locking.is_postgresql():
        assert all("set_config" in s for s in locks)
    assert not locking.lock_row(Company.__table__, 10**9)  # no such row
    db.session.rollback()
