"""Every page of an organisation's area that lists things runs the same number of SQL statements whatever
the number of rows: no query per row (N+1), whatever capability adds a list later.

The pages are found, not listed: every GET route of the tenant blueprints whose only URL parameter is the
organisation (lists, dashboards, forms with choices), for the three kinds of organisations. The data grow with
the isolation test's sample modules (tests/web/samples): each round adds, for each organisation, one more of
every object the application lets it own (actions, sessions, enrolments, employees, calls for tenders,
responses…), plus a member and an invitation. Each page is read with 3 rounds of data, then with 30 (more
than a page of 25), and must issue the same statements.
"""

from __future__ import annotations

from types import SimpleNamespace

from marketplace.extensions import db
from marketplace.services import accounts
from tests.web.pages import count_queries
from tests.web.samples import sample_modules
from tests.web.test_isolation import BLUEPRINT_KINDS, TENANT, _build_tenant

FEW, MANY = 3, 30


def _grow(make, tenants, rounds: int, start: int) -> None:
    """``rounds`` more of everything for each organisation."""
    for n in range(start, start + rounds):
        for kind, tenant in tenants.items():
            user = make.user(email=f"membre{n}-{kind}@exemple.fr")
            make.member(tenant.org, user, "admin")
            accounts.invite(tenant.org, f"invite{n}-{kind}@exemple.fr", "admin", tenant.admin)
            db.session.commit()
            # A fresh sample namespace: modules that reuse an earlier module's object make new ones.
            round_tenant = SimpleNamespace(kind=kind, org=tenant.org, admin=tenant.admin, samples={})
            for module in sample_modules():
                round_tenant.samples.update(module.add_samples(make, round_tenant))


def _list_pages(app) -> list[tuple[str, str]]:
    """(kind, endpoint) of every GET page of an organisation area that takes no other parameter."""
    pages = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) != TENANT or "GET" not in rule.methods:
            continue
        if set(rule.arguments) != {"org"}:
            continue
        for kind in BLUEPRINT_KINDS[rule.endpoint.split(".")[0]]:
            pages.append((kind, rule.endpoint))
    return sorted(pages)


def _measure(app, clients, tenants, pages) -> dict[tuple[str, str], tuple[int, int]]:
    adapter = app.url_map.bind("localhost")
    result = {}
    for kind, endpoint in pages:
        url = adapter.build(endpoint, {"org": tenants[kind].org.slug})
        clients[kind].get(url)  # warm-up: per-process caches filled, as on a running server
        with count_queries() as statements:
            response = clients[kind].get(url)
        result[(kind, endpoint)] = (response.status_code, len(statements))
    return result


def test_every_list_page_runs_the_same_statements_for_3_and_30_rows(app, make, login, monkeypatch):
    monkeypatch.setitem(app.config, "INVITATIONS_PER_HOUR", 10 * MANY)
    tenants = {kind: _build_tenant(make, kind, "a") for kind in ("opco", "company", "provider")}
    _grow(make, tenants, FEW - 1, 1)  # _build_tenant made the first round
    clients = {}
    for kind, tenant in tenants.items():
        clients[kind] = app.test_client()
        login(clients[kind], tenant.admin)
    pages = _list_pages(app)
    assert len(pages) >= 20, pages  # the walk found the areas' pages
    few = _measure(app, clients, tenants, pages)
    _grow(make, tenants, MANY - FEW, FEW)
    many = _measure(app, clients, tenants, pages)

    not_shown = {page: few[page][0] for page in pages if few[page][0] != 200 or many[page][0] != 200}
    assert not not_shown, f"pages qui ne s'affichent pas (statut HTTP) : {not_shown}"
    growing = {
        f"{kind} {endpoint}": f"{few[(kind, endpoint)][1]} requêtes pour {FEW} lignes, "
        f"{many[(kind, endpoint)][1]} pour {MANY}"
        for kind, endpoint in pages
        if few[(kind, endpoint)][1] != many[(kind, endpoint)][1]
    }
    assert not growing, "\n".join(f"{page} : {what}" for page, what in growing.items())
