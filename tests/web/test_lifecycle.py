"""The one request lifecycle (web/actions.py): what a person sees when a row lock cannot be had in time."""

from __future__ import annotations

import threading

from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.models import Enrolment
from marketplace.services import locking
from tests.web.inputs_expect import assert_refused_or
from tests.web.test_enrolment_pages import company_with_hr


def _hold_session_lock(
    app, session_id: int, is_postgres: bool, locked: threading.Event, release: threading.Event
):
    """Another request (its own connection) holding the session's row lock until ``release`` is set."""
    with app.app_context(), db.engine.connect() as conn:
        if is_postgres:
            conn.execute(
                text("SELECT id FROM training_sessions WHERE id = :id FOR UPDATE"), {"id": session_id}
            )
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.execute(text("UPDATE training_sessions SET id = id WHERE id = :id"), {"id": session_id})
        locked.set()
        release.wait(timeout=30)
        conn.rollback()


def test_a_seat_lock_held_too_long_answers_retry_and_keeps_nothing(
    app_factory, make, login, is_postgres, monkeypatch
):
    """pretix's rule: wait a few seconds for the seat lock, then say « réessayez » (409) instead of hanging."""
    monkeypatch.setattr(locking, "LOCK_TIMEOUT_MS", 300)
    # SQLite's equivalent of lock_timeout is the connection's busy timeout.
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={} if is_postgres else {"connect_args": {"timeout": 0.3}})
    company, hr = company_with_hr(make)
    session = make.session()
    employee = make.employee(company)
    client = app.test_client()
    login(client, hr)
    url = f"/entreprise/{company.slug}/sessions/{session.id}/inscrire"

    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_session_lock, args=(app, session.id, is_postgres, locked, release))
    holder.start()
    try:
        assert locked.wait(timeout=10)
        busy = client.post(url, data={"employee_ids": [str(employee.id)]})
    finally:
        release.set()
        holder.join(timeout=30)

    assert busy.status_code == 409
    assert "Réessayez dans quelques secondes" in busy.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Enrolment.id))) == 0

    again = client.post(url, data={"employee_ids": [str(employee.id)]})
    assert again.status_code == 200
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1


def test_an_organisation_slug_no_organisation_can_have_is_missing(client, login, make):
    """Odd or long text in the tenant part of a URL: 404, never the database. NUL and control characters
    (400) or 5 000 characters (414) are refused before any view, with the French page."""
    company, hr = company_with_hr(make)
    login(client, hr)
    for slug in ["%00", "a%00b", "%01", "%0d%0a", "x" * 1500, "x" * 5000, "%C3%A9t%C3%A9", "'--"]:
        for prefix in ("/entreprise", "/org", "/opco", "/of"):
            assert_refused_or(client.get(f"{prefix}/{slug}/"), 404, slug, sent_as="path")
    assert client.get(f"/entreprise/{company.slug}/").status_code == 200
