"""« Today » is the date in Paris, everywhere (issue 8, case 10): not the server's date, not UTC's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import time_machine
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent
from marketplace.services import audit
from tests.web.pages import text, visible_text

NEW_YEAR_EVE_2330_UTC = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 in Paris


def test_today_is_the_paris_date_at_2330_utc_on_31_december():
    with time_machine.travel(NEW_YEAR_EVE_2330_UTC, tick=False):
        assert paris_today() == date(2027, 1, 1)
    assert paris_today(datetime(2026, 12, 31, 23, 30)) == date(2027, 1, 1)  # stored times are naive UTC
    assert paris_today(datetime(2026, 7, 14, 21, 59)) == date(2026, 7, 14)  # summer time: UTC+2
    assert paris_today(datetime(2026, 7, 14, 22, 0)) == date(2026, 7, 15)


def test_new_action_form_proposes_the_paris_year_just_after_midnight(client, login, make):
    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    with time_machine.travel(NEW_YEAR_EVE_2330_UTC, tick=False):
        login(client, admin)
        page = text(client.get(f"/opco/{opco.slug}/catalogue/nouvelle"))
    selected = re.search(r'<option selected value="(\d{4})"|<option value="(\d{4})" selected', page)
    assert selected is not None
    assert "2027" in selected.groups()  # the server (UTC) still says 2026


def _event_at(org, when: datetime) -> AuditEvent:
    """An event recorded at ``when`` (naive UTC); the log is append-only, so the clock is moved instead."""
    with time_machine.travel(when.replace(tzinfo=UTC), tick=False):
        event = audit.record("org.updated", organisation_id=org.id, data={"at": when.isoformat()})
        db.session.commit()
    assert event.created_at == when
    return event


def test_audit_log_filters_by_paris_day(client, login, make):
    company = make.company()
    admin = db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.organisation_id == company.id))
    # 23:30 in Paris on 15 June (21:30 UTC) is the 15th; 00:30 in Paris on the 16th (22:30 UTC) is not.
    late_evening = _event_at(company, datetime(2026, 6, 15, 21, 30))
    after_midnight = _event_at(company, datetime(2026, 6, 15, 22, 30))
    early_morning = _event_at(company, datetime(2026, 6, 14, 22, 30))  # 00:30 in Paris on the 15th

    day = date(2026, 6, 15)
    found = audit.organisation_log(company.id, action="org.updated", date_from=day, date_to=day).items
    assert {e.id for e in found} == {late_evening.id, early_morning.id}
    next_day = audit.organisation_log(company.id, action="org.updated", date_from=date(2026, 6, 16)).items
    assert [e.id for e in next_day] == [after_midnight.id]

    from marketplace.models import User

    login(client, db.session.get(User, admin))
    page = visible_text(
        client.get(
            f"/org/{company.slug}/journal", query_string={"date_from": "2026-06-15", "date_to": "2026-06-15"}
        )
    )
    assert "15/06/2026 à 23h30" in page
    assert "16/06/2026 à 00h30" not in page


def test_no_server_date_in_the_application_its_tests_or_benches():
    """Every « today » goes through formatting.paris_today (the server may run in UTC). Tests and benches too:
    a test taking the server's date disagreed with the application between 23:00 and 24:00 UTC (CI of
    30/11/2026, 9 failures such as « La date limite d'inscription (30/11/2026) est dépassée »)."""
    project = Path(__file__).resolve().parent.parent
    offenders = []
    for folder in ("marketplace", "tests", "bench", "scripts"):
        for path in (project / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if (
                    re.search(r"date\.today\(\)|utcnow\(\)\.date\(\)|datetime\.now\([^)]*\)\.date\(\)", code)
                    and '"""' not in code
                    and "``" not in code
                ):
                    offenders.append(f"{path.relative_to(project)}:{number}")
    assert offenders == []
