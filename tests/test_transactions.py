"""A request's changes are kept together or not at all, savepoints included, on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import WebhookEvent, WebhookOutcome


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookEvent))


def test_a_savepoint_opened_first_is_undone_with_the_request(app):
    """The webhook stores its event row in a savepoint before acting: when acting then fails in a way the
    request rolls back (a lock not had in time), the row must go too, or Stripe's retry is answered « déjà
    reçu » and the payment is never recorded. SQLite used to commit that savepoint on its release."""
    db.session.commit()
    db.session.execute(select(1))  # a read first, as the webhook does: no transaction opened by pysqlite
    with db.session.begin_nested():
        db.session.add(WebhookEvent(outcome=WebhookOutcome.PROCESSED, detail="stored then rolled back"))
        db.session.flush()
    db.session.rollback()
    assert _events() == 0


def test_a_failed_savepoint_leaves_the_rest_of_the_request(app):
    with db.session.begin_nested():
        db.session.add(WebhookEvent(outcome=WebhookOutcome.PROCESSED, detail="kept"))
    try:
        with db.session.begin_nested():
            db.session.add(WebhookEvent(outcome=WebhookOutcome.FAILED, detail="undone"))
            db.session.flush()
            raise LookupError
    except LookupError:
        pass
    db.session.commit()
    assert db.session.scalars(select(WebhookEvent.detail)).all() == ["kept"]
