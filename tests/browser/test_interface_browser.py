"""In Chromium, on the demo data: no « serious » or « critical » accessibility violation (axe-core) on the
public home and on the main page of each kind of organisation, and the filter forms laid out as a compact
block with their fields side by side at 1366 px (not Pico's pill-shaped search group).

axe-core 4.14.1 is vendored under tests/browser/vendor (``npm pack axe-core@4.14.1``, axe.min.js checked
against the package's sri-history.json): it is a test tool, so it is not served by the application.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
DEMO_PASSWORD = "demo-marketplace-2026"
COMPANY = "/entreprise/net-clair-services"
PROVIDER = "/of/competences-territoires-formation"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("tableau de bord")


def serious_violations(page) -> list[dict]:
    """axe-core's violations of impact « serious » or « critical » on the current page (WCAG 2.x A/AA rules
    and best practices), with the first elements concerned."""
    page.evaluate(
        AXE.read_text(encoding="utf-8")
    )  # evaluated by the browser's devtools: the CSP does not apply
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def demo(cli):
    assert cli("seed-demo").exit_code == 0


@pytest.mark.browser
def test_axe_finds_what_it_should(live_server, page):
    """The check can fail: a field without a label is a critical violation for axe."""
    page.goto(f"{live_server}/")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')")
    assert "label" in {v["id"] for v in serious_violations(page)}


@pytest.mark.browser
def test_main_pages_have_no_serious_accessibility_violation(live_server, page, new_context, demo):
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1366, "height": 900})
    checked = {}
    page.goto(f"{live_server}/")
    checked["/"] = serious_violations(page)
    for email, paths in (
        ("opco@demo.test", ["/opco/akto/"]),
        ("entreprise@demo.test", [f"{COMPANY}/", f"{COMPANY}/catalogue"]),
        ("of@demo.test", [f"{PROVIDER}/"]),
    ):
        context = new_context(viewport={"width": 1366, "height": 900})
        person = context.new_page()
        person.set_default_timeout(30_000)
        sign_in(person, live_server, email)
        for path in paths:
            person.goto(f"{live_server}{path}")
            checked[path] = serious_violations(person)
        context.close()
    assert len(checked) == 5
    assert {path: found for path, found in checked.items() if found} == {}


def filter_block(page) -> dict:
    """The filter block's box and, for each field, its box and its label's."""
    return page.evaluate(
        """() => {
            const block = document.querySelector('main search');
            const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}; };
            const fields = [...block.querySelectorAll('select, input:not([type=hidden]):not([type=checkbox])')].map(e => {
                const label = document.querySelector(`label[for="${e.id}"]`);
                return {id: e.id, box: box(e), label: label ? box(label) : null};
            });
            const buttons = [...block.querySelectorAll('button')].map(box);
            const radius = Math.max(...[block, block.querySelector('form')].map(e => parseFloat(getComputedStyle(e).borderTopLeftRadius) || 0));
            return {box: box(block), fields, buttons, radius};
        }"""
    )


def rows(boxes: list[dict]) -> list[list[dict]]:
    """Boxes grouped by line: two boxes whose vertical extents overlap sit on the same line."""
    lines: list[list[dict]] = []
    for b in sorted(boxes, key=lambda b: b["top"]):
        line = next((ln for ln in lines if b["top"] < ln[0]["bottom"] and b["bottom"] > ln[0]["top"]), None)
        if line is None:
            lines.append([b])
        else:
            line.append(b)
    return lines


def buttons(page) -> list[dict]:
    """Every visible button-like control of the page's main part: its text, width and height."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main button, main a.button-link, main [type=submit]')]
            .filter(e => e.offsetParent)
            .map(e => { const r = e.getBoundingClientRect(); return {text: e.textContent.trim(), width: r.width, height: r.height}; })"""
    )


def check_buttons(page, name: str) -> None:
    """One button system: natural width (never stretched across the page) and one of two heights."""
    for b in buttons(page):
        assert b["width"] < 600, f"{name}: « {b['text']} » stretched ({b['width']} px)"
        assert any(abs(b["height"] - h) <= 3 for h in (32, 44)), (
            f"{name}: « {b['text']} » {b['height']} px high"
        )


def check_layout(block: dict, *, max_height: int, min_side_by_side: int, name: str) -> None:
    assert block["box"]["height"] < max_height, (name, block["box"])
    assert block["radius"] < 16, f"{name}: drawn as a rounded pill ({block['radius']} px)"
    for f in block["fields"]:
        assert f["box"]["width"] >= 150, f"{name}: field {f['id']} squeezed ({f['box']['width']} px)"
        if f["label"] is not None:  # its label sits above it, not squeezed beside it
            assert f["label"]["bottom"] <= f["box"]["top"] + 2, (name, f["id"], f["label"], f["box"])
    widest_line = max(len(line) for line in rows([f["box"] for f in block["fields"]] + block["buttons"]))
    assert widest_line >= min_side_by_side, f"{name}: at most {widest_line} controls side by side"


@pytest.mark.browser
def test_filter_forms_are_compact_with_fields_side_by_side_at_1366px(live_server, page, demo):
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1366, "height": 900})

    sign_in(page, live_server, "entreprise@demo.test")
    page.goto(f"{live_server}{COMPANY}/catalogue")
    catalogue = filter_block(page)
    page.locator("main search").screenshot(path="/tmp/browser-filters-catalogue.png")
    check_layout(catalogue, max_height=560, min_side_by_side=5, name="catalogue")
    check_buttons(page, "catalogue")
    sort = next(f for f in catalogue["fields"] if f["id"] == "sort")
    assert sort["box"]["width"] >= 200  # « Trier par » keeps its width
    # The hint under the search field stays under it (does not overlap a select).
    boxes = [f["box"] for f in catalogue["fields"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = min(a["right"], b["right"]) > max(a["left"], b["left"]) and min(
                a["bottom"], b["bottom"]
            ) > max(a["top"], b["top"])
            assert not overlap, (a, b)
    for hint in page.locator("main search .hint").all():
        h = hint.bounding_box()
        for b in boxes:
            assert not (
                h["x"] < b["right"]
                and h["x"] + h["width"] > b["left"]
                and h["y"] < b["bottom"]
                and h["y"] + h["height"] > b["top"]
            ), ("hint over a field", h, b)

    page.goto(f"{live_server}{COMPANY}/salaries")
    employees = filter_block(page)
    page.locator("main search").screenshot(path="/tmp/browser-filters-employees.png")
    check_layout(employees, max_height=140, min_side_by_side=2, name="salariés")
    check_buttons(page, "salariés")
    page.goto(f"{live_server}/org/net-clair-services/journal")
    check_buttons(page, "journal")
    [search_field] = employees["fields"]
    assert search_field["box"]["width"] >= 400

    page.get_by_role("button", name="Se déconnecter").click()
    sign_in(page, live_server, "of@demo.test")
    page.goto(f"{live_server}{PROVIDER}/appels-d-offres")
    tenders = filter_block(page)
    page.locator("main search").screenshot(path="/tmp/browser-filters-tenders.png")
    check_layout(tenders, max_height=320, min_side_by_side=5, name="appels d'offres")
    check_buttons(page, "appels d'offres")


@pytest.mark.browser
def test_opco_dashboard_key_figures_fit_on_one_row_and_a_subtitle_sits_under_its_title(
    live_server, page, demo
):
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "opco@demo.test")
    cards = page.locator("main .cards > article")
    count = cards.count()
    assert count >= 5  # pending approvals, sessions awaiting service fait, actions…
    tops = {round(cards.nth(i).bounding_box()["y"]) for i in range(count)}
    assert len(tops) == 1, f"key figures on {len(tops)} rows"

    page.get_by_role("button", name="Se déconnecter").click()
    sign_in(page, live_server, "of@demo.test")
    page.goto(f"{live_server}{PROVIDER}/sessions")
    page.locator("main table a").first.click()
    title = page.get_by_role("heading", level=1)
    subtitle = title.locator("small").bounding_box()
    text_top = title.evaluate(
        "h => { const r = document.createRange(); r.selectNodeContents(h.firstChild); return r.getBoundingClientRect().bottom; }"
    )
    assert subtitle["y"] >= text_top - 1, "the subtitle overlaps the title"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
def test_the_opco_menus_open_with_the_keyboard_and_stay_on_screen(live_server, page, demo, width):
    """« Contrôle et paiement » opens with Enter, its links are reachable with Tab and sit inside the window
    (a phone too); following one lands on its page with the group marked as the current one."""
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "opco@demo.test")
    menu = page.get_by_role("navigation", name=re.compile("^Navigation de l'espace"))
    invoices = menu.get_by_role("link", name="Factures", exact=True)
    expect(invoices).to_have_count(0)  # closed: hidden from sight and from the accessibility tree
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # wide tables scroll in their box

    menu.locator("summary", has_text="Contrôle et paiement").focus()
    page.keyboard.press("Enter")
    expect(invoices).to_be_visible()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Service fait")).to_be_focused()
    for link in menu.locator("details[open] a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (link.inner_text(), box, width)
    page.screenshot(path=f"/tmp/menu-open-{width}.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert serious_violations(page) == []

    invoices.click()
    expect(page).to_have_url(re.compile(r"/opco/akto/factures"))
    current = menu.locator("summary.current")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Contrôle et paiement")


PHONE_PAGES = {
    "opco@demo.test": [
        "/opco/akto/" + p
        for p in (
            "",
            "pilotage",
            "catalogue",
            "validations",
            "referencements",
            "appels-d-offres",
            "service-fait",
        )
    ]
    + ["/opco/akto/" + p for p in ("factures", "paiements", "budgets", "branches", "qualite")],
    "entreprise@demo.test": [
        f"{COMPANY}/" + p for p in ("", "catalogue", "inscriptions", "salaries", "factures", "historique")
    ],
    "of@demo.test": [
        f"{PROVIDER}/" + p for p in ("", "sessions", "appels-d-offres", "factures", "indicateurs")
    ],
}


@pytest.mark.browser
def test_no_page_is_wider_than_a_phone(live_server, new_context, demo):
    """At 390 px every main page of the three kinds fits the width: wide tables scroll inside their box."""
    wider = {}
    for email, paths in PHONE_PAGES.items():
        context = new_context(viewport={"width": 390, "height": 844})
        person = context.new_page()
        person.set_default_timeout(30_000)
        sign_in(person, live_server, email)
        for path in paths:
            response = person.goto(f"{live_server}{path}")
            assert response.status == 200, path
            width = person.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wider[path] = width
        context.close()
    assert wider == {}
