"""Pages whose cost must not grow with the platform: the catalogue's bounded count, the registry in pages,
the organisation read once per request, the reference lists read once per process."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.services import search
from tests.web.pages import count_queries, visible_text


def test_the_catalogue_count_stops_at_the_limit_and_says_more_than(client, make, login, monkeypatch):
    admin = make.user()
    company = make.company("akto", admin=admin)
    action = make.action(title="Gestes et postures")
    for _ in range(3):
        make.session(action)
    login(client, admin)
    url = f"/entreprise/{company.slug}/catalogue"
    assert "3 sessions trouvées." in visible_text(client.get(url))

    monkeypatch.setattr(search, "COUNT_LIMIT", 2)
    page = visible_text(client.get(url))
    assert "Plus de 2 sessions trouvées" in page and "Précisez votre recherche" in page
    assert page.count("Gestes et postures") >= 3  # the rows of the page are all there


def test_the_referencing_registry_is_shown_in_pages(client, make, login):
    staff = make.user()
    akto = make.opco("akto", admin=staff)
    action = make.action(akto, title="Habilitation électrique")
    for n in range(27):
        make.referencing(action, make.provider(name=f"Organisme {n:02d}"))
    login(client, staff)
    base = f"/opco/{akto.slug}/referencements"

    first = visible_text(client.get(base))
    assert "27 référencements." in first and "Page 1 sur 2" in first
    assert "Organisme 00" in first and "Organisme 24" in first and "Organisme 25" not in first
    second = visible_text(client.get(f"{base}?page=2&statut=active"))
    assert "Organisme 25" in second and "Organisme 26" in second and "Organisme 00" not in second


def test_a_page_reads_the_organisation_once_and_the_reference_lists_once_per_process(client, make, login):
    admin = make.user()
    company = make.company("akto", admin=admin)
    make.session(make.action(title="Sauveteur secouriste du travail"))
    login(client, admin)
    url = f"/entreprise/{company.slug}/catalogue"
    client.get(url)
    with count_queries() as statements:
        page = visible_text(client.get(url))
    assert "Sauveteur secouriste du travail" in page
    assert "Occitanie" in page  # the region filter still lists the regions
    by_slug = [s for s in statements if "organisations.slug =" in s]
    assert not by_slug, by_slug  # found among the user's memberships, loaded with the user
    reference = [s for s in statements if s.lstrip().startswith(("SELECT ref_themes", "SELECT ref_regions"))]
    assert not reference, reference


def test_another_organisation_in_the_url_is_still_not_found(client, make, login):
    admin = make.user()
    make.company("akto", admin=admin)
    other = make.company("akto")
    login(client, admin)
    assert client.get(f"/entreprise/{other.slug}/catalogue").status_code == 404
    assert client.get("/entreprise/nulle-part/catalogue").status_code == 404
    assert client.get(f"/opco/{other.slug}/").status_code == 404  # a company's slug in the OPCO area


def test_the_signed_in_user_is_read_in_one_statement_by_key(client, make, login):
    """The user with memberships and organisations in one statement, every organisation found by key (the
    join from the user's side made SQLite read every organisation on every page)."""
    admin = make.user()
    company = make.company("akto", admin=admin)
    make.company("atlas")  # organisations the user is not a member of
    make.provider(name="Organisme voisin")
    login(client, admin)
    url = f"/entreprise/{company.slug}/catalogue"
    client.get(url)
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    user = [s for s in statements if "FROM organisations" in s and "users.id =" in s]
    assert len(user) == 1, statements
    assert not [s for s in statements if s.lstrip().startswith(("SELECT users", "SELECT memberships"))], (
        statements
    )
    if db.engine.dialect.name == "sqlite":
        plan = (
            db.session.connection()
            .exec_driver_sql("EXPLAIN QUERY PLAN " + user[0].replace("?", str(admin.id)))
            .all()
        )
        assert not [row for row in plan if "SCAN" in str(row[-1])], plan


def test_a_catalogue_row_links_to_its_session_with_the_search_kept(client, make, login):
    admin = make.user()
    company = make.company("akto", admin=admin)
    session = make.session(make.action(title="Sauveteur secouriste du travail"))
    login(client, admin)
    page = client.get(f"/entreprise/{company.slug}/catalogue?q=secouriste&sort=price").get_data(as_text=True)
    assert (
        f'href="/entreprise/{company.slug}/catalogue/sessions/{session.id}?q=secouriste&amp;sort=price"'
        in page
    )
