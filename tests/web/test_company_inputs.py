"""Absurd input on the company and public pages: huge or negative numbers, NUL bytes, 1 MB strings, wrong types,
dates like 9999-12-31. Never a server error; what cannot be understood is ignored (searches) or refused with a
French message and nothing changed (forms). Control characters, 1 MB bodies and over-long URLs are refused before
any page (400, 413, 414: tests/web/inputs_expect.py)."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Employee, Enrolment
from tests.web.inputs_expect import assert_refused_or
from tests.web.pages import text, visible_text

TODAY = paris_today()
HUGE = "99999999999999999999"
MEGA = "x" * 1_000_000
ABSURD = [HUGE, "-1", "-99999999999999999999", "0", "abc", "1.5", "\x00", "a\x00b", "9999-12-31", MEGA, ""]


@pytest.fixture
def hr(make):
    return make.user(email="rh@menuiserie.fr", full_name="Rose RH")


@pytest.fixture
def company(make, hr):
    return make.company("akto", admin=hr, name="Menuiserie Durand", headcount=120)


@pytest.fixture
def signed_in(client, login, hr, company):
    login(client, hr)
    return company


def get(client, path, **args):
    return client.get(path + ("?" + urlencode(args) if args else ""))


def employee_count(company) -> int:
    return db.session.scalar(select(func.count(Employee.id)).where(Employee.company_id == company.id))


# --- Catalogue search: bad filters are left out, the page always answers ---------------------------------


def test_catalogue_ignores_huge_negative_and_absurd_pages(client, make, signed_in):
    action = make.action(make.opco("akto"), title="Soudure", theme_code="25")
    for offset in range(22):
        make.session(action, start=TODAY + timedelta(days=10 + offset))
    base = f"/entreprise/{signed_in.slug}/catalogue"

    for page in [HUGE, "100000", "-3", "0", "deux", "\x00"]:
        response = get(client, base, page=page)
        if assert_refused_or(response, 200, page, sent_as="query"):
            assert "22 sessions trouvées" in visible_text(response)
    # A page number past the end (but plausible) shows the last page.
    assert "page 2 sur 2" in visible_text(get(client, base, page="999"))


def test_catalogue_dates_out_of_range_are_ignored_with_a_message(client, make, signed_in):
    make.session(make.action(make.opco("akto"), title="Soudure"), start=TODAY + timedelta(days=20))
    base = f"/entreprise/{signed_in.slug}/catalogue"

    response = get(client, base, date_from="9999-12-31")
    assert response.status_code == 200
    page = visible_text(response)
    assert "1 session trouvée" in page  # the impossible date narrows nothing
    assert "Indiquez une date entre le 01/01/2000 et le 31/12/2100" in page

    response = get(client, base, date_to="0001-01-01", date_from="not-a-date")
    assert response.status_code == 200
    assert "1 session trouvée" in visible_text(response)


@pytest.mark.parametrize(
    "name",
    [
        "q",
        "theme",
        "region",
        "modality",
        "date_from",
        "date_to",
        "duration_min",
        "duration_max",
        "provider_id",
        "seats_only",
        "sort",
        "page",
        "per_page",
    ],
)
def test_catalogue_survives_absurd_values_in_every_filter(client, make, signed_in, name):
    make.session(make.action(make.opco("akto"), title="Soudure"), start=TODAY + timedelta(days=20))
    base = f"/entreprise/{signed_in.slug}/catalogue"
    for value in ABSURD:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(base + "?" + urlencode({name: value}), headers=headers)
            assert_refused_or(response, 200, value, sent_as="query")
    # A list of values for one name, as a crafted URL may send.
    assert client.get(f"{base}?{name}=1&{name}=2").status_code == 200
    assert client.get(f"{base}?{name}=1&{name}=2&{name}=%00").status_code == 400


def test_catalogue_search_with_a_nul_byte_gets_the_french_page_then_searching_again_works(
    client, make, signed_in
):
    make.session(make.action(make.opco("akto"), title="Soudure à l'arc"), start=TODAY + timedelta(days=20))
    make.session(make.action(make.opco("akto"), title="Comptabilité"), start=TODAY + timedelta(days=20))
    refused = get(client, f"/entreprise/{signed_in.slug}/catalogue", q="soud\x00ure")
    assert_refused_or(refused, 200, "soud\x00ure", sent_as="query")
    page = visible_text(get(client, f"/entreprise/{signed_in.slug}/catalogue", q="soudure"))
    assert "1 session trouvée" in page and "Soudure" in page and "Comptabilité" not in page


def test_session_detail_back_link_keeps_only_understood_filters(client, make, signed_in):
    session = make.session(make.action(make.opco("akto"), title="Soudure"), start=TODAY + timedelta(days=20))
    response = get(
        client,
        f"/entreprise/{signed_in.slug}/catalogue/sessions/{session.id}",
        q="soudure",
        page="2",
        date_from="9999-12-31",
        provider_id=HUGE,
        junk="x" * 1500,
    )
    assert response.status_code == 200
    back = text(response).split("← Retour au catalogue")[0].rsplit('href="', 1)[1]
    assert "q=soudure" in back and "page=2" in back
    assert "9999" not in back and "junk" not in back and "provider_id" not in back

    assert client.get(f"/entreprise/{signed_in.slug}/catalogue/sessions/{HUGE}").status_code == 404
    assert client.get(f"/entreprise/{signed_in.slug}/catalogue/sessions/-1").status_code == 404


# --- Employee register: searches ignore, forms refuse in French and change nothing ------------------------


def test_employee_list_survives_absurd_searches_and_pages(client, make, signed_in):
    make.employee(signed_in, last_name="Durand", first_name="Léa")
    base = f"/entreprise/{signed_in.slug}/salaries"
    for name in ("q", "page", "supprimes"):
        for value in ABSURD:
            response = client.get(base + "?" + urlencode({name: value}), headers={"HX-Request": "true"})
            assert_refused_or(response, 200, value, sent_as="query")
    # A NUL byte in the search gets the French page; without it the search finds her.
    assert_refused_or(get(client, base, q="dur\x00and"), 200, "dur\x00and", sent_as="query")
    assert "1 salarié pour « durand »." in visible_text(get(client, base, q="durand"))


def test_employee_form_refuses_nul_bytes_and_huge_values_without_saving(client, signed_in):
    base = f"/entreprise/{signed_in.slug}/salaries/nouveau"
    good = {
        "last_name": "Durand",
        "first_name": "Léa",
        "email": "",
        "job_title": "",
        "contract_type": "cdi",
        "category": "employe",
    }
    cases = [
        ({"last_name": "Dur\x00and"}, None),  # refused before the form: 400
        ({"first_name": "L\x00éa"}, None),
        ({"job_title": "Vend\x00euse"}, None),
        ({"email": "a\x00b@example.fr"}, None),
        ({"last_name": MEGA}, None),  # a 1 MB body: 413
        ({"last_name": "x" * 101}, "Le nom ne peut pas dépasser 100 caractères."),
        ({"contract_type": HUGE}, None),
        ({"category": "-1"}, None),
    ]
    for change, message in cases:
        response = client.post(base, data={**good, **change})
        if assert_refused_or(response, 422, change) and message:
            assert message in text(response)
        assert employee_count(signed_in) == 0
    # Wrong types: a field sent twice, a file instead of text.
    response = client.post(
        base,
        data={**good, "last_name": (io.BytesIO(b"\x00\xff"), "nom.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert employee_count(signed_in) == 0
    response = client.post(base, data=good)
    assert response.status_code == 303
    assert employee_count(signed_in) == 1


def test_employee_edit_with_absurd_values_changes_nothing(client, make, signed_in):
    lea = make.employee(signed_in, last_name="Durand", first_name="Léa", email="lea@menuiserie.fr")
    base = f"/entreprise/{signed_in.slug}/salaries"
    refused = 0
    for field in ("last_name", "first_name", "email", "job_title", "contract_type", "category"):
        for value in (HUGE, "\x00", MEGA, "-1"):
            data = {
                "last_name": "Durand",
                "first_name": "Léa",
                "email": "lea@menuiserie.fr",
                "job_title": "Agent",
                "contract_type": "cdi",
                "category": "employe",
                field: value,
            }
            response = client.post(f"{base}/{lea.id}/modifier", data=data)
            db.session.refresh(lea)
            if response.status_code == 303:  # digits are an odd but valid name or job title
                assert field in ("last_name", "first_name", "job_title") and value in (HUGE, "-1")
                assert getattr(lea, field) == value
                lea.last_name, lea.first_name, lea.job_title = "Durand", "Léa", "Agent"
                db.session.commit()
                continue
            assert_refused_or(response, 422, value)  # NUL: 400, 1 MB: 413, the rest: 422 at its field
            assert (
                lea.last_name,
                lea.first_name,
                lea.email,
                lea.job_title,
                lea.contract_type,
                lea.category,
            ) == ("Durand", "Léa", "lea@menuiserie.fr", "Agent", "cdi", "employe")
            refused += 1
    assert refused == 18
    for path in (f"/{HUGE}/modifier", "/0/modifier", f"/{HUGE}/supprimer"):
        assert client.post(base + path).status_code == 404


def test_import_lines_with_control_characters_are_reported_not_saved(client, signed_in):
    content = "Nom;Prénom\nDur\x01and;Léa\nMorel;Paul\n".encode()
    response = client.post(
        f"/entreprise/{signed_in.slug}/salaries/importer",
        data={"file": (io.BytesIO(content), "salaries.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = visible_text(response)
    assert "1 salarié ajouté" in page and "Le nom contient des caractères non autorisés." in page
    assert employee_count(signed_in) == 1

    response = client.post(f"/entreprise/{signed_in.slug}/salaries/importer", data={"file": HUGE})
    assert response.status_code == 422
    assert "Choisissez le fichier CSV à importer." in text(response)


def test_enrol_with_absurd_employee_ids_is_refused_and_nothing_changes(client, make, signed_in):
    session = make.session(start=TODAY + timedelta(days=30))
    make.employee(signed_in, last_name="Durand", first_name="Léa")
    path = f"/entreprise/{signed_in.slug}/sessions/{session.id}/inscrire"
    for ids in ([HUGE], ["-1"], ["\x00"], [MEGA], ["abc"], ["2147483647"], []):
        response = client.post(path, data={"employee_ids": ids})
        assert_refused_or(response, 422, ids)
        assert db.session.scalar(select(func.count(Enrolment.id))) == 0


def test_dashboard_answers_with_absurd_query_strings(client, signed_in):
    for value in ABSURD:
        response = get(client, f"/entreprise/{signed_in.slug}/", page=value, etat=value)
        assert_refused_or(response, 200, value, value, sent_as="query")


# --- Public pages ---------------------------------------------------------------------------------------


def test_public_catalogue_survives_absurd_searches_pages_and_slugs(client, make):
    akto = make.opco("akto")
    make.action(akto, title="Soudure", status="published")
    base = f"/catalogue/{akto.slug}"
    for name in ("q", "page"):
        for value in ABSURD:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(base + "?" + urlencode({name: value}), headers=headers)
                assert_refused_or(response, 200, value, sent_as="query")
    assert_refused_or(get(client, base, q="soud\x00ure"), 200, "soud\x00ure", sent_as="query")
    assert "Soudure" in visible_text(get(client, base, q="soudure"))
    assert "Soudure" in visible_text(get(client, base, page=HUGE))
    for slug in ("%00", "ak%00to", "x" * 5000, "-1", "x" * 1500):
        assert_refused_or(client.get(f"/catalogue/{slug}"), 404, slug, sent_as="path")
        assert_refused_or(client.get(f"/catalogue/{slug}/actions/1"), 404, slug, sent_as="path")
    assert client.get(f"{base}/actions/{HUGE}").status_code == 404
    assert_refused_or(get(client, "/", page=HUGE, q="\x00"), 200, "\x00", sent_as="query")
    assert get(client, "/", page=HUGE, q="x").status_code == 200


def test_public_catalogue_history_restore_gets_the_whole_page(client, make):
    akto = make.opco("akto")
    make.action(akto, title="Soudure", status="published")
    fragment = client.get(f"/catalogue/{akto.slug}?q=soudure", headers={"HX-Request": "true"})
    assert "<html" not in text(fragment) and "Soudure" in text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]
    restore = client.get(
        f"/catalogue/{akto.slug}?q=soudure",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in text(restore) and "Soudure" in text(restore)
