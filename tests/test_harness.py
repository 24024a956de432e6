"""The test harness itself: isolation between tests, factories, login helper, live server and Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.formatting import paris_today
from marketplace.models import Company, IdccBranch, Membership, OpcoReference, User
from marketplace.services.identifiers import validate_nda, validate_siret


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_with_empty_tables_but_reference_data(run, make, db_session):
    assert db_session.scalar(select(func.count()).select_from(User)) == 0
    assert db_session.scalar(select(func.count()).select_from(OpcoReference)) == 11
    user = make.user(email="toujours-le-meme@exemple.fr")
    assert user.id == 1  # identities restart too


def test_factories_make_valid_unique_organisations(make, db_session):
    companies = [make.company(), make.company(headcount=300), make.company(opco_code="atlas")]
    assert len({c.siret for c in companies}) == 3
    for company in companies:
        assert validate_siret(company.siret) == company.siret
    assert [c.opco.code for c in companies] == ["akto", "akto", "atlas"]
    assert companies[1].size_band == "300+"
    orphan = make.company(opco_code=None)
    assert orphan.opco_id is None
    assert db_session.get(IdccBranch, orphan.idcc) is not None

    provider = make.provider()
    assert validate_nda(provider.nda)[1] is None  # no warning: department repeated
    assert provider.qualiopi_expires_on > paris_today()
    expired = make.provider(qualiopi_expires_on=paris_today() - timedelta(days=1))
    assert expired.qualiopi_expires_on < paris_today()

    member = make.member(companies[0], role="hr")
    assert member.role == "hr"
    roles = db_session.scalars(select(Membership.role).where(Membership.organisation_id == companies[0].id))
    assert sorted(roles) == ["admin", "hr"]
    assert db_session.scalar(select(func.count()).select_from(Company)) == 4


def test_client_requests_see_committed_factories_and_login(client, make, login):
    admin = make.user()
    make.company(admin=admin)
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    response = login(client, admin)
    assert response.status_code == 303
    follow = client.get(response.headers["Location"])
    assert follow.status_code in (200, 302)


def test_requests_refresh_the_test_session(client, make, login, db_session):
    user = make.user()
    login(client, user)
    db_session.refresh(user)
    assert user.last_login_at is not None


@pytest.mark.browser
def test_chromium_reaches_the_live_server(live_server, page, make):
    user = make.user(email="navigateur@exemple.fr")
    page.goto(f"{live_server}/connexion")
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill("mot-de-passe-test-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    assert "/connexion" not in page.url
