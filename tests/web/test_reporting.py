"""OPCO « Pilotage »: figures checked against a hand-computed catalogue (tests/reporting_fixture.py), filters,
drill-down lists showing exactly the rows behind a figure, permissions, constant statements."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from marketplace.services import reporting_pages
from marketplace.services.reporting import Filters
from tests import reporting_fixture
from tests.web.pages import count_queries, visible_text


@pytest.fixture
def cat(make):
    return reporting_fixture.build(make)


@pytest.fixture
def opco_client(client, login, make, cat):
    admin = make.user(email="pilotage@akto.test")
    make.member(cat.akto, admin, "viewer")
    login(client, admin)
    return client


def figures(cat, **filters):
    return reporting_pages.overview(cat.akto, Filters(**filters)).report


def rows(report, dimension) -> dict:
    return {row.key: row.figures for row in report.breakdowns[dimension]}


def month(session) -> str:
    return f"{session.start_date.year:04d}-{session.start_date.month:02d}"


def test_totals_match_the_hand_computed_catalogue(cat):
    t = figures(cat).totals
    assert (t.enrolments, t.trainees, t.closed) == (6, 5, 5)
    assert (t.planned_minutes, t.done_minutes) == (3360, 2100)  # 56 h planned, 35 h done
    assert t.realisation_pct == Decimal("62.5")
    assert (t.sessions_held, t.sessions_cancelled, t.seats, t.capacity) == (2, 1, 5, 20)
    assert t.fill_pct == Decimal("25.0")
    assert t.committed_cents == 520_000
    assert (t.realised_cents, t.realised_ht_cents, t.paid_cents) == (250_000, 250_000, 150_000)
    assert t.cost_per_hour_cents == 7_143  # 250 000 / 35 h = 7 142,86


def test_breakdowns_by_region_size_band_and_organisation(cat):
    report = figures(cat)
    region = rows(report, "region")
    assert set(region) == {"84", "11", "53"}
    # 84: S1 (3 closed) + S3 cancelled; 11: S2; 53: S4 (e5 confirmed).
    r84, r11, r53 = region["84"], region["11"], region["53"]
    assert (r84.enrolments, r84.trainees, r84.planned_minutes, r84.done_minutes) == (3, 3, 2520, 1260)
    assert (r84.sessions_held, r84.sessions_cancelled, r84.fill_pct) == (1, 1, Decimal("30.0"))
    assert (r84.committed_cents, r84.realised_cents, r84.paid_cents) == (300_000, 150_000, 150_000)
    assert (r11.enrolments, r11.trainees, r11.planned_minutes, r11.done_minutes) == (2, 2, 840, 840)
    assert (r11.fill_pct, r11.committed_cents, r11.realised_cents, r11.paid_cents) == (
        Decimal("20.0"),
        120_000,
        100_000,  # 120 000 − the 20 000 credit note
        0,
    )
    assert (r53.enrolments, r53.committed_cents, r53.sessions_held, r53.realised_cents) == (1, 100_000, 0, 0)

    band = rows(report, "band")
    # <11 (C1): e1 on S1, e2 on S1, e1 on S2; 11-49 (C2): e3, e4, e5; the credit note names no trainee.
    small, medium, unattached = band["<11"], band["11-49"], band[""]
    assert (small.enrolments, small.trainees, small.planned_minutes, small.done_minutes) == (3, 2, 2100, 1680)
    assert (small.committed_cents, small.realised_cents, small.paid_cents) == (260_000, 210_000, 150_000)
    assert (medium.enrolments, medium.trainees, medium.planned_minutes, medium.done_minutes) == (
        3,
        3,
        1260,
        420,
    )
    assert (medium.committed_cents, medium.realised_cents, medium.paid_cents) == (260_000, 60_000, 0)
    assert (unattached.enrolments, unattached.realised_cents) == (0, -20_000)
    assert [r.key for r in report.breakdowns["band"]] == ["<11", "11-49", ""]

    provider = rows(report, "provider")
    p1, p2 = provider[str(cat.p1.id)], provider[str(cat.p2.id)]
    assert (p1.enrolments, p1.sessions_held, p1.sessions_cancelled, p1.planned_minutes, p1.done_minutes) == (
        3,
        1,
        1,
        2520,
        1260,
    )
    assert (p1.committed_cents, p1.realised_cents, p1.paid_cents) == (300_000, 150_000, 150_000)
    assert (p2.enrolments, p2.trainees, p2.sessions_held, p2.done_minutes) == (3, 3, 1, 840)
    assert (p2.committed_cents, p2.realised_cents, p2.paid_cents) == (220_000, 100_000, 0)
    assert set(provider) == {str(cat.p1.id), str(cat.p2.id)}  # ATLAS's organisation is not AKTO's


def test_breakdown_by_month_follows_the_sessions_start(cat):
    by_month = rows(figures(cat), "month")
    expected = {}
    for session, enrolled in ((cat.s1, 3), (cat.s2, 2), (cat.s3, 0), (cat.s4, 1)):
        expected[month(session)] = expected.get(month(session), 0) + enrolled
    assert {key: f.enrolments for key, f in by_month.items()} == expected
    assert by_month[month(cat.s1)].done_minutes >= 1260
    assert sum(f.realised_cents for f in by_month.values()) == 250_000


def test_filters_change_the_figures(cat):
    t = figures(cat, region="11").totals
    assert (t.enrolments, t.trainees, t.sessions_held, t.sessions_cancelled) == (2, 2, 1, 0)
    assert (t.realised_cents, t.paid_cents, t.committed_cents) == (100_000, 0, 120_000)

    t = figures(cat, band="<11").totals  # company filter: trainees and amounts, not the sessions
    assert (t.enrolments, t.trainees, t.done_minutes) == (3, 2, 1680)
    assert (t.realised_cents, t.paid_cents, t.sessions_held) == (210_000, 150_000, 2)

    t = figures(cat, idcc=cat.akto.idcc_codes[1]).totals  # C2's branch
    assert (t.enrolments, t.trainees, t.realised_cents, t.committed_cents) == (3, 3, 60_000, 260_000)

    t = figures(cat, year=cat.a1.campaign_year).totals  # A2 is last year's campaign: S2 out
    assert (t.enrolments, t.trainees, t.sessions_held, t.realised_cents) == (4, 4, 1, 150_000)

    t = figures(cat, theme="32").totals
    assert (t.enrolments, t.realised_cents) == (2, 100_000)

    t = figures(cat, provider_id=cat.p2.id, action_id=cat.a1.id).totals  # S4 only
    assert (t.enrolments, t.committed_cents, t.sessions_held) == (1, 100_000, 0)

    t = figures(cat, region="distance").totals  # no remote session
    assert (t.enrolments, t.sessions_held, t.realised_cents) == (0, 0, 0)
    assert t.realisation_pct is None and t.cost_per_hour_cents is None

    by_month = rows(figures(cat), "month")
    t = figures(cat, month=month(cat.s1)).totals
    assert t.enrolments == by_month[month(cat.s1)].enrolments >= 3


def test_another_opcos_choices_are_ignored_and_its_data_never_counted(cat):
    atlas_choices = reporting_pages.overview(cat.atlas, Filters()).choices
    foreign_provider, foreign_action = atlas_choices.providers[0][0], atlas_choices.actions[0][0]
    data = reporting_pages.overview(cat.akto, Filters(provider_id=foreign_provider, action_id=foreign_action))
    assert data.filters == Filters()  # dropped
    assert data.report.totals.enrolments == 6 and data.report.totals.realised_cents == 250_000
    atlas = reporting_pages.overview(cat.atlas, Filters()).report.totals
    assert (atlas.enrolments, atlas.realised_cents, atlas.paid_cents) == (1, 500_000, 500_000)


def test_the_page_shows_the_figures_the_charts_data_and_the_definitions(opco_client, cat):
    response = opco_client.get("/opco/akto/pilotage")
    assert response.status_code == 200
    page = visible_text(response)
    for words in ("Pilotage du catalogue", "62,5 %", "25,0 %", "71,43", "5 200,00", "2 500,00", "1 500,00"):
        assert words.replace(" ", "\u202f") in page or words in page, words
    assert "Définitions" in page and "Coût par heure-stagiaire HT" in page
    body = response.get_data(as_text=True)
    region = json.loads(re.search(r'id="donnees-region">(.*?)</script>', body, re.S).group(1))
    assert dict(zip(region["labels"], region["datasets"][0]["data"], strict=True)) == {
        "Auvergne-Rhône-Alpes": 3,
        "Île-de-France": 2,
        "Bretagne": 1,
    }
    provider = json.loads(re.search(r'id="donnees-provider">(.*?)</script>', body, re.S).group(1))
    assert provider["datasets"][1]["data"] == [21.0, 14.0]  # hours done: P1 21 h, P2 14 h
    assert 'src="/static/vendor/chartjs-4.6.1/chart.umd.min.js"' in body
    assert "<script>" not in body  # the CSP forbids inline scripts


def test_a_filter_through_htmx_returns_the_figures_fragment(opco_client, cat):
    response = opco_client.get("/opco/akto/pilotage?region=11", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    region = json.loads(re.search(r'id="donnees-region">(.*?)</script>', body, re.S).group(1))
    assert region["labels"] == ["Île-de-France"] and region["datasets"][0]["data"] == [2]
    assert "HX-Request" in response.headers.get("Vary", "")


def _names(response) -> list[str]:
    return re.findall(r'<th scope="row">([^<]+)</th>', response.get_data(as_text=True))


def test_drill_down_lists_show_exactly_the_rows_behind_a_figure(opco_client, cat):
    response = opco_client.get("/opco/akto/pilotage/inscriptions?region=84")
    assert response.status_code == 200
    assert sorted(_names(response)) == ["BERNARD Léa", "GARCIA Inès", "MARTIN Hugo"]
    assert "3 inscriptions" in visible_text(response)

    response = opco_client.get("/opco/akto/pilotage/inscriptions?taille=%3C11&etat=cloturees")
    assert sorted(_names(response)) == ["GARCIA Inès", "GARCIA Inès", "MARTIN Hugo"]

    response = opco_client.get("/opco/akto/pilotage/inscriptions")
    assert len(_names(response)) == 6 and "Étranger" not in response.get_data(as_text=True)

    response = opco_client.get("/opco/akto/pilotage/sessions?etat=annulees")
    assert "1 session" in visible_text(response) and "Gestes et postures" in visible_text(response)
    response = opco_client.get("/opco/akto/pilotage/sessions?etat=tenues")
    assert "2 sessions" in visible_text(response)

    response = opco_client.get("/opco/akto/pilotage/factures?etat=payees")
    assert _names(response) == [cat.invoices["i1"].number]
    response = opco_client.get("/opco/akto/pilotage/factures?etat=realisees")
    numbers = {cat.invoices[k].number for k in ("i1", "i2", "note")}
    assert set(_names(response)) == numbers  # not the rejected one, not the company's, not ATLAS's
    response = opco_client.get("/opco/akto/pilotage/factures?etat=realisees&taille=11-49")
    assert set(_names(response)) == {cat.invoices["i1"].number, cat.invoices["i2"].number}


def test_every_figure_links_to_its_list_with_the_same_filters(opco_client, cat):
    body = opco_client.get("/opco/akto/pilotage?region=84").get_data(as_text=True)
    assert "/opco/akto/pilotage/inscriptions?region=84" in body
    assert "/opco/akto/pilotage/sessions?region=84&amp;etat=annulees" in body
    assert "/opco/akto/pilotage/factures?region=84&amp;etat=payees" in body


def test_bad_or_foreign_filter_values_are_ignored_never_a_500(opco_client, cat):
    for query in (
        "annee=abc",
        "annee=99999999999999",
        "region=zz",
        "region=%C3%A9" * 3,
        "of=-1",
        "action=2147483648",
        "mois=2026-13",
        "taille=" + "x" * 500,
        f"of={cat.p1.id}&of=abc",
    ):
        response = opco_client.get(f"/opco/akto/pilotage?{query}")
        assert response.status_code == 200, query
    for path in ("inscriptions", "sessions", "factures"):
        assert opco_client.get(f"/opco/akto/pilotage/{path}?etat=nimporte&page=999999").status_code == 200


def test_companies_organisations_and_other_opcos_cannot_reach_the_pages(client, login, make, cat):
    company_admin = make.user()
    make.member(cat.c1, company_admin, "admin")
    login(client, company_admin)
    assert client.get("/opco/akto/pilotage").status_code == 404
    assert client.get("/opco/akto/pilotage/inscriptions").status_code == 404

    provider_admin = make.user()
    make.member(cat.p1, provider_admin, "admin")  # the organisation delivering S1 and S3
    provider_client = client.application.test_client()
    login(provider_client, provider_admin)
    for path in ("", "/inscriptions", "/sessions", "/factures"):
        assert provider_client.get(f"/opco/akto/pilotage{path}").status_code == 404

    other = make.user()
    make.member(cat.atlas, other, "admin")
    atlas_client = client.application.test_client()
    login(atlas_client, other)
    assert atlas_client.get("/opco/akto/pilotage").status_code == 404
    page = atlas_client.get("/opco/atlas/pilotage")
    assert page.status_code == 200 and "Gestes et postures" not in page.get_data(as_text=True)
    listing = atlas_client.get("/opco/atlas/pilotage/inscriptions").get_data(as_text=True)
    assert "ÉTRANGER Jean" in listing and "GARCIA" not in listing

    evaluator = make.user()
    make.member(cat.akto, evaluator, "evaluator")  # no « view_reports »
    evaluator_client = client.application.test_client()
    login(evaluator_client, evaluator)
    assert evaluator_client.get("/opco/akto/pilotage").status_code == 403


def _more(make, cat, n: int) -> None:
    """n more delivered sessions with trainees and a paid invoice, in the filtered region and size band."""
    for _ in range(n):
        company = make.company(headcount=5, idcc=cat.akto.idcc_codes[0])
        session, enrolments = reporting_fixture.delivered_session(
            make,
            [(company, make.employee(company), "attended", 840), (company, None, "absent", 0)],
            action=cat.a1,
            provider=cat.p1,
        )
        reporting_fixture.issued_invoice(session, enrolments, status="paid")


@pytest.mark.parametrize(
    "path",
    [
        "/opco/akto/pilotage?region=84&taille=%3C11&annee={year}&of={p1}&theme=31&branche={idcc}",
        "/opco/akto/pilotage/inscriptions?region=84&taille=%3C11&etat=cloturees&page=2",
        "/opco/akto/pilotage/sessions?region=84&etat=tenues&of={p1}",
        "/opco/akto/pilotage/factures?region=84&taille=%3C11&etat=payees",
    ],
)
def test_filtered_pages_run_the_same_statements_whatever_the_rows(opco_client, make, cat, path):
    url = path.format(year=cat.a1.campaign_year, p1=cat.p1.id, idcc=cat.akto.idcc_codes[0])
    opco_client.get(url)  # warm-up
    with count_queries() as few:
        assert opco_client.get(url).status_code == 200
    _more(make, cat, 14)
    with count_queries() as many:
        response = opco_client.get(url)
    assert response.status_code == 200
    assert len(few) == len(many), (len(few), len(many))
