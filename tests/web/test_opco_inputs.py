"""The OPCO's catalogue, registry, approval and settings pages under absurd input: never a server error.

Every value below reaches a query parameter or a form field of these pages. A page asked with nonsense shows
its default; a form given nonsense is refused with a French message (422) and changes nothing. Control
characters, 1 MB bodies and over-long URLs are refused before any page (400, 413, 414: tests/web/inputs_expect.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, CollectiveAction, Enrolment, Referencing
from tests.web.inputs_expect import assert_refused_or
from tests.web.pages import count, flashes, text, visible_text
from tests.web.test_opco_catalogue import form_data, reference

TODAY = paris_today()
MEGABYTE = "9" * 1_000_000

ABSURD = [
    "99999999999999999999",
    "2147483648",
    "-1",
    "-2147483649",
    "0",
    "\x00",
    "12\x00",
    "١٢",  # Arabic-Indic digits: str.isdigit() says yes, the database would not
    "²",
    "1e308",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "<script>",
    "x" * 5000,
    MEGABYTE,
]


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def signed_in(client, login, make, akto):
    admin = make.user(email="fuzz@akto.test")
    make.member(akto, admin, "admin")
    login(client, admin)
    return client


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_query_parameters_never_break_the_lists(signed_in, akto, make):
    action = make.action(akto, title="Action visible")
    make.referencing(action)
    for value in ABSURD:
        for url in ("/catalogue", "/referencements", "/validations", "/", "/branches"):
            for name in ("page", "statut", "action"):
                response = signed_in.get(f"/opco/{akto.slug}{url}", query_string={name: value})
                assert_refused_or(response, 200, value, sent_as="query")
        # Nonsense filters are ignored: the page shows everything.
        page = signed_in.get(f"/opco/{akto.slug}/catalogue", query_string={"page": value, "statut": value})
        if assert_refused_or(page, 200, value, value, sent_as="query"):
            assert "Action visible" in visible_text(page)
        registry = signed_in.get(f"/opco/{akto.slug}/referencements", query_string={"action": value})
        if assert_refused_or(registry, 200, value, sent_as="query"):
            assert "Action visible" in visible_text(registry)


def test_a_page_past_the_end_of_the_catalogue_shows_the_last_one(signed_in, akto, make):
    for n in range(26):
        make.action(akto, title=f"Action {n:02d}", campaign_year=TODAY.year)
    page = visible_text(signed_in.get(f"/opco/{akto.slug}/catalogue?page=99"))
    assert "Action 25" in page and "Action 00" not in page


ACTION_FIELDS = [
    "title",
    "reference",
    "theme_code",
    "modality",
    "duration_hours",
    "campaign_year",
    "objectives",
    "scope",
    "price",
    "share_lt11",
    "cap_per_company_per_session",
    "cap_per_company_per_year",
    "cancellation_days",
    "region_codes",
    "idcc_codes",
]
# Free text may legitimately be a number; every other field given nonsense must be refused.
FREE_TEXT = {"title", "reference", "objectives"}
# Zero is a real answer for these (0 % funded, no notice period).
ZERO_ALLOWED = {"share_lt11", "cancellation_days"}


def test_action_form_refuses_absurd_values_and_saves_nothing(signed_in, akto):
    url = f"/opco/{akto.slug}/catalogue/nouvelle"
    for name in ACTION_FIELDS:
        for value in ABSURD:
            before = audit_count()
            response = signed_in.post(url, data=form_data(**{name: value}))
            if (name in FREE_TEXT or (name in ZERO_ALLOWED and value == "0")) and response.status_code == 303:
                # Accepted as text: keep the next attempt from colliding on the reference.
                db.session.execute(db.delete(CollectiveAction))
                db.session.commit()
                continue
            if assert_refused_or(response, 422, value):
                assert "Le formulaire contient" in text(response) or flashes(response)
            assert count(CollectiveAction) == 0, (name, value[:20])
            assert audit_count() == before


def test_action_edit_refuses_absurd_values_and_changes_nothing(signed_in, akto, make):
    action = make.action(akto, title="Titre d'origine", price_cents=100_000)
    before = audit_count()
    url = f"/opco/{akto.slug}/catalogue/{action.id}/modifier"
    for name in ("price", "duration_hours", "campaign_year", "share_lt11", "cancellation_days", "objectives"):
        for value in ("\x00", MEGABYTE, "-1", "99999999999999999999", "1e308"):
            if name == "objectives" and value not in ("\x00", MEGABYTE):
                continue
            response = signed_in.post(
                url, data=form_data(reference=action.reference, title="Autre", **{name: value})
            )
            assert_refused_or(response, 422, value)
    db.session.expire_all()
    assert db.session.get(CollectiveAction, action.id).title == "Titre d'origine"
    assert audit_count() == before


def test_nul_bytes_and_huge_texts_get_a_french_message(signed_in, akto):
    url = f"/opco/{akto.slug}/catalogue/nouvelle"
    response = signed_in.post(url, data=form_data(title="Manager\x00", programme="Jour 1\x00"))
    assert_refused_or(response, 422, "Manager\x00")  # 400 and the French page, before the form
    assert "rien n'a été enregistré" in text(response)
    response = signed_in.post(url, data=form_data(objectives="x" * 10_001))
    assert response.status_code == 422
    assert "Ce texte ne peut pas dépasser 10 000 caractères." in text(response)
    response = signed_in.post(url, data=form_data(price="9" * 30))
    assert response.status_code == 422
    assert "Le prix par stagiaire ne peut pas dépasser 100 000 € par stagiaire." in text(response)
    assert_refused_or(signed_in.post(url, data=form_data(price=MEGABYTE)), 422, MEGABYTE)
    assert count(CollectiveAction) == 0


def test_action_state_change_with_an_unknown_event_changes_nothing(signed_in, akto, make):
    action = make.action(akto, status="draft")
    for value in ABSURD[:8] + ["renew", ["publish", "archive"]]:
        response = signed_in.post(f"/opco/{akto.slug}/catalogue/{action.id}/etat", data={"event": value})
        assert_refused_or(response, (303, 422), value)
        if value != ["publish", "archive"]:
            db.session.refresh(action)
            assert action.status == "draft"


def test_referencing_form_accepts_only_an_organisation_it_offers(signed_in, akto, make):
    action = make.action(akto, price_cents=100_000)
    already = make.provider(name="Déjà Référencé")
    make.referencing(action, already)
    before = (count(Referencing), audit_count())
    for provider_id in [*ABSURD, str(already.id), "", "1.5", " 1"]:
        response = reference(signed_in, akto, action, already, provider_id=provider_id)
        if assert_refused_or(response, 422, provider_id):
            assert "Choisissez un organisme" in text(response)
    assert (count(Referencing), audit_count()) == before


def test_referencing_form_refuses_absurd_prices_and_dates(signed_in, akto, make):
    action = make.action(akto, price_cents=100_000)
    provider = make.provider(name="Campus Formation")
    for name in ("price", "valid_from", "valid_until"):
        for value in ABSURD:
            if name == "price" and value in ("0001-01-01",):
                continue
            response = reference(signed_in, akto, action, provider, **{name: value})
            assert_refused_or(response, 422, value)
    response = reference(signed_in, akto, action, provider, valid_until="2999-12-31")
    assert "Indiquez une date comprise entre 2000 et 2100." in text(response)
    assert count(Referencing) == 0

    referencing = make.referencing(action, price_cents=90_000)
    url = f"/opco/{akto.slug}/catalogue/{action.id}/referencements/{referencing.id}/modifier"
    for value in ("9999-12-31", "0001-01-01", "\x00", MEGABYTE):
        data = {"valid_from": TODAY.isoformat(), "valid_until": value, "price": "950"}
        assert_refused_or(signed_in.post(url, data=data), 422, value)
        data = {
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=9)).isoformat(),
            "price": value,
        }
        assert_refused_or(signed_in.post(url, data=data), 422, value)
    db.session.refresh(referencing)
    assert referencing.price_cents == 90_000


def test_referencing_reasons_and_events_are_checked(signed_in, akto, make):
    action = make.action(akto)
    referencing = make.referencing(action)
    urls = [
        f"/opco/{akto.slug}/catalogue/{action.id}/referencements/{referencing.id}/etat",
        f"/opco/{akto.slug}/referencements/{referencing.id}/etat",
    ]
    for url in urls:
        for reason in ("Audit\x00", MEGABYTE, "x" * 301):
            response = signed_in.post(url, data={"event": "suspend", "reason": reason})
            if assert_refused_or(response, 422, reason):
                assert any("motif" in m.lower() for m in flashes(response))
        for event in ABSURD[:6]:
            response = signed_in.post(url, data={"event": event, "reason": "Audit"})
            if assert_refused_or(response, 422, event):
                assert "Cette action n'est pas possible sur un référencement." in flashes(response)
    response = signed_in.post(urls[1] + "?action=99999999999999999999&statut=%00", data={"event": "x"})
    assert_refused_or(response, 422, "\x00", sent_as="query")
    response = signed_in.post(urls[1] + "?action=99999999999999999999&statut=x", data={"event": "x"})
    assert response.status_code == 422
    db.session.refresh(referencing)
    assert referencing.status == "active"


def test_refusal_reason_is_bounded_and_clean(client, login, make, akto):
    staff = make.user()
    make.member(akto, staff, "catalogue_manager")
    session = make.session(make.action(akto, requires_approval=True))
    enrolment = make.enrolment(session)
    login(client, staff)
    url = f"/opco/{akto.slug}/inscriptions/{enrolment.id}/refuser"
    for reason, message in (
        ("x" * 501, "Le motif du refus : 500 caractères au maximum."),
        (MEGABYTE, None),  # 413 before the form
        ("Hors\x00priorités", None),  # 400 before the form
    ):
        response = client.post(url, data={"reason": reason})
        if assert_refused_or(response, 422, reason):
            assert message in flashes(response)
    assert db.session.get(Enrolment, enrolment.id).status == "pending_approval"


def test_settings_refuse_absurd_hours_and_keep_the_value(signed_in, akto):
    before = akto.waitlist_offer_hours
    for value in [*ABSURD, "", "24.5", "1 0"]:
        if value == "١٢":
            continue  # Python reads it as 12: a valid number of hours
        response = signed_in.post(f"/opco/{akto.slug}/parametres", data={"waitlist_offer_hours": value})
        if assert_refused_or(response, 422, value):
            assert 'class="field-error"' in text(response)
    db.session.expire_all()
    assert db.session.get(type(akto), akto.id).waitlist_offer_hours == before


def test_files_and_json_in_place_of_fields_are_refused(signed_in, akto, make):
    from io import BytesIO

    url = f"/opco/{akto.slug}/catalogue/nouvelle"
    for name in ("title", "price", "theme_code", "duration_hours"):
        data = {**form_data(), name: (BytesIO(b"\x00binaire"), "fichier.bin")}
        response = signed_in.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 422, name
        assert "Ce champ est obligatoire." in text(response) or "Choisissez un thème" in text(response)
    for body in ({**form_data(), "title": {"a": 1}}, {**form_data(), "price": [1, 2]}, [1, 2], 12):
        assert signed_in.post(url, json=body).status_code == 422
    assert count(CollectiveAction) == 0

    action = make.action(akto, price_cents=100_000)
    provider = make.provider()
    response = signed_in.post(
        f"/opco/{akto.slug}/catalogue/{action.id}/referencements/nouveau",
        json={
            "provider_id": provider.id,
            "valid_from": TODAY.isoformat(),
            "valid_until": "2030-01-01",
            "price": 900,
        },
    )
    assert response.status_code == 422 and count(Referencing) == 0
    before = akto.waitlist_offer_hours
    assert (
        signed_in.post(f"/opco/{akto.slug}/parametres", json={"waitlist_offer_hours": 24}).status_code == 422
    )
    db.session.expire_all()
    assert db.session.get(type(akto), akto.id).waitlist_offer_hours == before
