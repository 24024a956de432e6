"""In Chromium: an OPCO user opens « Pilotage » (the hand-computed catalogue of tests/reporting_fixture.py),
sees the charts drawn by Chart.js from the page's data blocks and their tables, changes the region filter,
and sees the chart's data, the table and the figures change without a page load (htmx), the URL following;
a figure leads to the list behind it. No script error, no CSP violation, no serious accessibility
violation (axe-core), the filter block laid out like the other list pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import reporting_fixture
from tests.browser.test_attendance_browser import sign_in
from tests.browser.test_interface_browser import check_buttons, check_layout, filter_block, serious_violations

CHART_DATA = """(id) => {
  const chart = window.Chart.getChart(document.querySelector(`canvas[data-chart=donnees-${id}]`));
  return chart ? {labels: chart.data.labels, data: chart.data.datasets.map((d) => d.data)} : null;
}"""


@pytest.mark.browser
def test_the_opco_filters_its_figures_by_region_and_the_chart_and_table_follow(app, live_server, page, make):
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1366, "height": 900})
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error" and problems.append(f"{page.url} {message.location} {message.text}")
        ),
    )
    cat = reporting_fixture.build(make)
    make.member(cat.akto, make.user(email="pilotage@akto.test", full_name="Paule Pilotage"), "viewer")

    sign_in(page, live_server, "pilotage@akto.test")
    page.get_by_role("link", name="Pilotage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pilotage du catalogue")
    page.wait_for_function(
        "() => window.Chart && window.Chart.getChart(document.querySelector('canvas[data-chart=donnees-region]'))"
    )
    assert page.evaluate(CHART_DATA, "region") == {
        "labels": ["Auvergne-Rhône-Alpes", "Île-de-France", "Bretagne"],
        "data": [[3, 2, 1]],
    }
    assert page.evaluate(CHART_DATA, "provider")["data"] == [[42.0, 14.0], [21.0, 14.0]]
    check_layout(filter_block(page), max_height=320, min_side_by_side=5, name="pilotage")
    check_buttons(page, "pilotage")
    cards = page.locator("main .report-kpis").first.locator("article")
    assert len({round(cards.nth(i).bounding_box()["y"]) for i in range(cards.count())}) == 1  # one row
    table = page.locator("#tableau-region")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.locator(".report-kpis").first).to_contain_text("62,5")

    page.get_by_label("Région de la session", exact=True).select_option(label="Île-de-France")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr")).to_contain_text("Île-de-France")
    page.wait_for_function(
        "() => { const c = window.Chart.getChart(document.querySelector('canvas[data-chart=donnees-region]'));"
        " return c && c.data.labels.length === 1; }"
    )
    assert page.evaluate(CHART_DATA, "region") == {"labels": ["Île-de-France"], "data": [[2]]}
    assert re.search(r"/pilotage\?(.*&)?region=11", page.url)
    expect(page.locator(".report-kpis").first).to_contain_text("100,0")  # S2: every hour done
    page.screenshot(path="/tmp/browser-pilotage.png", full_page=True)
    assert serious_violations(page) == []

    # The trainees figure leads to the list of the inscriptions behind it, with the same filter.
    page.locator(".report-kpis").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscriptions")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("main")).to_contain_text("Région : Île-de-France")
    assert not problems, "\n".join(problems)
