"""The organisation's menu: an OPCO's thirteen pages grouped in two menus, each shown only with what the
member's role may open, and the group of the current page marked."""

from __future__ import annotations

import re

from tests.web.pages import text


def _menu(page: str) -> str:
    return re.search(r'<nav class="container section-nav".*?</nav>', page, re.S).group(0)


def _groups(menu: str) -> dict[str, list[str]]:
    """Summary → link labels of each grouped menu."""
    groups = {}
    for summary, body in re.findall(r"<summary[^>]*>(.*?)</summary>\s*<ul>(.*?)</ul>", menu, re.S):
        label = re.sub(r"<[^>]+>.*", "", summary).strip()
        groups[label] = [re.sub(r"<[^>]+>", "", a).strip() for a in re.findall(r"<a [^>]*>.*?</a>", body)]
    return groups


def test_an_opco_admin_sees_two_grouped_menus_and_the_current_one_is_marked(client, login, make):
    opco = make.opco("akto")
    admin = make.user()
    make.member(opco, admin, "admin")
    login(client, admin)

    menu = _menu(text(client.get("/opco/akto/catalogue")))
    assert _groups(menu) == {
        "Catalogue": ["Actions collectives", "Validations", "Référencements", "Appels d'offres"],
        "Contrôle et paiement": ["Service fait", "Factures", "Paiements", "Budgets"],
    }
    top = re.sub(r"<details.*?</details>", "", menu, flags=re.S)
    assert re.findall(r"<a [^>]*>(.*?)</a>", top) == [
        "Tableau de bord",
        "Pilotage",
        "Qualité",
        "Membres",
        "Journal",
    ]
    assert (
        '<summary class="current">Catalogue<span class="visually-hidden"> (page en cours dans ce menu)'
        in menu
    )
    assert re.search(r'href="/opco/akto/catalogue" aria-current="page">Actions collectives</a>', menu)
    assert 'class="current">Contrôle' not in menu

    dashboard = _menu(text(client.get("/opco/akto/")))
    assert 'class="current"' not in dashboard  # no group holds the dashboard


def test_a_group_shows_only_the_pages_the_role_opens_and_disappears_when_none(client, login, make):
    opco = make.opco("akto")
    buyer, cataloguer = make.user(), make.user()
    make.member(opco, buyer, "tender_manager")
    make.member(opco, cataloguer, "catalogue_manager")

    login(client, buyer)
    groups = _groups(_menu(text(client.get("/opco/akto/"))))
    assert groups == {"Catalogue": ["Actions collectives", "Référencements", "Appels d'offres"]}

    client.post("/deconnexion")
    login(client, cataloguer)
    groups = _groups(_menu(text(client.get("/opco/akto/"))))
    assert groups["Contrôle et paiement"] == ["Budgets"]
    assert "Validations" in groups["Catalogue"]
