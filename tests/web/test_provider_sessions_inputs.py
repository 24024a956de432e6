"""Absurd input on the training organisation's session pages: never a server error, refused in French, nothing
changed. Each query parameter and form field receives huge and negative integers, NUL bytes, 1 MB strings,
wrong types and dates such as 9999-12-31 or 0001-01-01. Control characters, 1 MB bodies and over-long URLs are
refused before any page (400, 413, 414: tests/web/inputs_expect.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import AuditEvent, OutboxMessage, SessionSlot, TrainingSession
from tests.web.inputs_expect import MESSAGES, assert_refused_or
from tests.web.pages import flashes, text, visible_text
from tests.web.test_provider_sessions import START, form_data, url

HUGE = "9" * 30
MEGABYTE = "a" * 1_000_000
BAD_VALUES = [HUGE, "2147483648", "-1", "0", "abc", "x\x00y", MEGABYTE, "9999-12-31", "0001-01-01", "1e9"]
# One of each kind for every field of a form (0001-01-01 and text in numbers: see the tests below).
FIELD_VALUES = (HUGE, "-1", "x\x00y", MEGABYTE, "9999-12-31")
# In a URL the app sees at most what the server lets through (a few kB): long, not a megabyte.
BAD_QUERY_VALUES = [*(v for v in BAD_VALUES if v is not MEGABYTE), "é" * 4000, "\x00"]


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def action(make):
    return make.action(make.opco("akto"), title="Gestes et postures", duration_hours="7")


@pytest.fixture
def referencing(make, action, provider):
    return make.referencing(action, provider, price_cents=90_000)


@pytest.fixture
def signed_in(client, login, provider):
    login(client, provider.memberships[0].user)
    return client


def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    sessions = db.session.execute(
        select(
            TrainingSession.id,
            TrainingSession.status,
            TrainingSession.capacity_min,
            TrainingSession.capacity_max,
            TrainingSession.registration_deadline,
            TrainingSession.start_date,
            TrainingSession.city,
            TrainingSession.region_code,
            TrainingSession.notes,
            TrainingSession.status_reason,
        ).order_by(TrainingSession.id)
    ).all()
    slots = db.session.execute(
        select(
            SessionSlot.session_id,
            SessionSlot.day,
            SessionSlot.half_day,
            SessionSlot.start_time,
            SessionSlot.end_time,
        ).order_by(SessionSlot.id)
    ).all()
    audit = db.session.scalar(select(func.count(AuditEvent.id)))
    mails = db.session.scalar(select(func.count(OutboxMessage.id)))
    return sessions, slots, audit, mails


def slot_rows(response) -> int:
    return len(set(re.findall(r'name="slots-(\d+)-day"', text(response))))


# --- Query parameters ---------------------------------------------------------------------------------------


def test_list_ignores_absurd_page_and_filters(make, signed_in, provider, action):
    make.session(action, provider, start=START, city="Futurville")
    for name in ("page", "status", "period"):
        for value in BAD_QUERY_VALUES:
            response = signed_in.get(url(provider), query_string={name: value})
            if not assert_refused_or(response, 200, value, sent_as="query"):
                continue
            page = visible_text(response)
            # The defaults apply: upcoming sessions, every state, first page.
            assert "Futurville" in page and "1 session." in page, (name, value[:20])
            assert "\x00" not in text(response) and len(response.data) < 100_000
    response = signed_in.get(url(provider), query_string={"page": HUGE}, headers={"HX-Request": "true"})
    assert (
        response.status_code == 200
        and "<h1>" not in text(response)
        and "Futurville" in visible_text(response)
    )


def test_rows_to_show_are_bounded(signed_in, provider, referencing, make):
    session = make.session(referencing.action, provider, start=START)
    pages = [
        url(provider, "/nouvelle"),
        url(provider, f"/{session.id}/modifier"),
        url(provider, f"/{session.id}/reporter"),
    ]
    for path in pages:
        assert slot_rows(signed_in.get(path, query_string={"lignes": "30"})) == 30
        assert slot_rows(signed_in.get(path, query_string={"lignes": "60"})) == 60
        assert slot_rows(signed_in.get(path, query_string={"lignes": "61"})) == 60
        for value in BAD_QUERY_VALUES:
            response = signed_in.get(path, query_string={"lignes": value})
            if assert_refused_or(response, 200, value, sent_as="query"):
                assert 10 <= slot_rows(response) <= 60


# --- Creating a session -------------------------------------------------------------------------------------


def test_create_survives_absurd_values_in_every_field(signed_in, provider, referencing):
    before = snapshot()
    fields = [name for name in form_data(referencing.id) if not re.match(r"slots-[2-9]-", name)]
    fields += ["slots-5-day", "slots-59-day", f"slots-{HUGE}-day"]
    for name in fields:
        for value in FIELD_VALUES:
            response = signed_in.post(
                url(provider, "/nouvelle"), data={**form_data(referencing.id), name: value}
            )
            if not assert_refused_or(response, (303, 422), value) or response.status_code == 422:
                assert snapshot() == before, (name, value[:20])
            else:  # an odd value the form could take (notes « abc »): a draft like any other; start again
                db.session.delete(
                    db.session.scalar(select(TrainingSession).order_by(TrainingSession.id.desc()))
                )
                db.session.commit()
                before = snapshot()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"capacity_max": HUGE}, "Entre 1 et 1000 stagiaires."),
        ({"capacity_min": "-3"}, "Entre 1 et 1000 stagiaires."),
        ({"registration_deadline": "0001-01-01"}, "Indiquez une date entre le 01/01/2000 et le 31/12/2100."),
        ({"slots-0-day": "9999-12-31"}, "Indiquez une date entre le 01/01/2000 et le 31/12/2100."),
        ({"city": "Ly\x00on"}, MESSAGES[400]),
        ({"notes": "Accès\x00"}, MESSAGES[400]),
        ({"contact_name": "a" * 201}, "200"),
        ({"contact_name": "a" * 1_000_000}, MESSAGES[413]),
    ],
)
def test_create_refuses_absurd_values_in_french(signed_in, provider, referencing, changes, message):
    response = signed_in.post(url(provider, "/nouvelle"), data=form_data(referencing.id, **changes))
    assert_refused_or(response, 422, *changes.values())
    assert message in visible_text(response)
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 0


def test_create_refuses_a_referencing_id_that_is_not_this_organisations(
    make, signed_in, provider, referencing
):
    foreign = make.referencing(make.action(make.opco("akto"), title="Réservée à un autre"), make.provider())
    withdrawn = make.referencing(make.action(make.opco("akto"), title="Plus publiée"), provider)
    withdrawn.action.status = "draft"
    db.session.commit()
    for value in (
        str(foreign.id),
        str(withdrawn.id),
        HUGE,
        "2147483648",
        "-1",
        "0",
        "abc",
        "\x00",
        "",
        "1.5",
    ):
        response = signed_in.post(url(provider, "/nouvelle"), data=form_data(value))
        if not assert_refused_or(response, 422, value):
            continue
        page = visible_text(response)
        assert "Réservée à un autre" not in page
        expected = (
            "Choisissez l'action de la session."
            if value == ""
            else ("Choisissez une action pour laquelle vous êtes référencé.")
        )
        assert f"Action collective : {expected}" in page  # in the error summary, and next to the field
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 0
    # The organisation's own referencing still works.
    assert signed_in.post(url(provider, "/nouvelle"), data=form_data(referencing.id)).status_code == 303


def test_create_refuses_an_unknown_region(signed_in, provider, referencing):
    for value in ("99", "\x00", MEGABYTE, HUGE):
        response = signed_in.post(
            url(provider, "/nouvelle"), data=form_data(referencing.id, region_code=value)
        )
        if assert_refused_or(response, 422, value):
            assert "Région" in visible_text(response)
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 0


# --- Editing, postponing, cancelling, state buttons ---------------------------------------------------------


def test_edit_survives_absurd_values_and_keeps_the_session(make, signed_in, provider, action):
    session = make.session(action, provider, start=START, days=1, capacity_max=10)
    page = url(provider, f"/{session.id}/modifier")
    good = form_data(None)
    good.pop("referencing_id")
    before = snapshot()
    for name in (
        "capacity_min",
        "capacity_max",
        "registration_deadline",
        "slots-0-day",
        "slots-0-start_time",
        "slots-1-half_day",
        "city",
        "postal_code",
        "region_code",
        "contact_email",
        "is_remote",
    ):
        for value in FIELD_VALUES:
            response = signed_in.post(page, data={**good, name: value})
            if not assert_refused_or(response, (303, 422), value) or response.status_code == 422:
                assert snapshot() == before, (name, value[:20])
            else:
                before = snapshot()
    # A deadline of year 1 would later overflow when the session is postponed: refused.
    response = signed_in.post(page, data={**good, "registration_deadline": "0001-01-01"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).registration_deadline.year >= 2000


def test_postpone_and_cancel_refuse_absurd_values(make, signed_in, provider, action):
    session = make.session(action, provider, start=START, days=1)
    make.enrolment(session)
    before = snapshot()
    new_day = (START + timedelta(days=21)).isoformat()
    good = {
        "slots-0-day": new_day,
        "slots-0-half_day": "am",
        "slots-0-start_time": "",
        "slots-0-end_time": "",
        "slots-1-day": new_day,
        "slots-1-half_day": "pm",
        "slots-1-start_time": "",
        "slots-1-end_time": "",
        "reason": "Formateur malade",
    }
    absurd = {
        "slots-0-day": [HUGE, "-1", "abc", "x\x00y", MEGABYTE, "9999-12-31", "0001-01-01", "2100-13-01"],
        "slots-0-half_day": [HUGE, "-1", "soir", "\x00", MEGABYTE],
        "slots-0-start_time": [HUGE, "-1", "25:61", "x\x00y", MEGABYTE, "9999-12-31"],
        "slots-0-end_time": [HUGE, "-1", "25:61", "x\x00y", MEGABYTE, "08:00"],
        "reason": ["x\x00y", MEGABYTE],
    }
    for name, values in absurd.items():
        for value in values:
            response = signed_in.post(url(provider, f"/{session.id}/reporter"), data={**good, name: value})
            assert_refused_or(response, 422, value)
            assert snapshot() == before, (name, value[:20])
    for value in ("\x00", "x\x00y", MEGABYTE, ""):
        response = signed_in.post(url(provider, f"/{session.id}/annuler"), data={"reason": value})
        assert_refused_or(response, 422, value)
        assert snapshot() == before
    assert db.session.get(TrainingSession, session.id).status == "open"


def test_state_buttons_ignore_absurd_events(make, signed_in, provider, action):
    session = make.session(action, provider, start=START)
    before = snapshot()
    for value in [*BAD_VALUES, "__class__", "SESSION", "\x00"]:
        response = signed_in.post(url(provider, f"/{session.id}/etat"), data={"event": value})
        refused = not assert_refused_or(response, 303, value)
        assert snapshot() == before
        if refused:
            continue
        page = signed_in.get(response.headers["Location"])
        assert flashes(page) == ["Cette action n'existe pas pour une session."], value[:20]


@pytest.mark.parametrize("path", ["", "/modifier", "/reporter", "/annuler", "/stagiaires.csv", "/etat"])
def test_absurd_session_ids_are_not_found(signed_in, provider, path):
    for session_id in (HUGE, "2147483648", "-1", "0"):
        if path == "/etat":
            response = signed_in.post(url(provider, f"/{session_id}{path}"), data={"event": "publish"})
        else:
            response = signed_in.get(url(provider, f"/{session_id}{path}"))
        assert response.status_code == 404


def test_dashboard_and_list_ignore_query_junk(signed_in, provider):
    for path in (f"/of/{provider.slug}/", url(provider)):
        for junk in ("é" * 300, "\x00", "é" * 4000):
            response = signed_in.get(path, query_string={"page": HUGE, "x": junk})
            assert_refused_or(response, 200, HUGE, junk, sent_as="query")


def test_dates_of_the_year_ten_thousand_never_reach_the_database(signed_in, provider, referencing):
    far = date(2100, 12, 31) + timedelta(days=1)
    response = signed_in.post(
        url(provider, "/nouvelle"),
        data=form_data(referencing.id, **{"slots-0-day": far.isoformat(), "slots-1-day": far.isoformat()}),
    )
    assert response.status_code == 422
    assert "Indiquez une date entre le 01/01/2000 et le 31/12/2100." in visible_text(response)
