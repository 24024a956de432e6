"""CSRF protection, with an app where it is on (the default test app turns it off for brevity)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.models import LoginAttempt
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture
def csrf_client(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True).test_client()


def _token(client) -> str:
    page = client.get("/connexion").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "le formulaire de connexion ne contient pas de jeton CSRF"
    return match.group(1)


def _attempts(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(LoginAttempt))


def test_post_without_token_is_refused(csrf_client, make, db_session):
    user = make.user()
    response = csrf_client.post("/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "Formulaire expiré" in response.get_data(as_text=True)
    assert _attempts(db_session) == 0  # refused before the view ran


def test_post_with_a_forged_token_is_refused(csrf_client, make, db_session):
    user = make.user()
    _token(csrf_client)
    response = csrf_client.post(
        "/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": "faux"}
    )
    assert response.status_code == 400
    assert _attempts(db_session) == 0


def test_post_with_the_form_token_is_accepted(csrf_client, make):
    user = make.user()
    token = _token(csrf_client)
    response = csrf_client.post(
        "/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303


def test_htmx_post_with_the_header_token_is_accepted(csrf_client, make):
    user = make.user()
    token = _token(csrf_client)
    response = csrf_client.post(
        "/connexion",
        data={"email": user.email, "password": DEFAULT_PASSWORD},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 303


def test_the_token_from_before_sign_in_is_refused_after_it(csrf_client, make, db_session):
    """Sign-in rotates the CSRF token: a token planted or seen before sign-in is worthless afterwards."""
    user = make.user()
    before = _token(csrf_client)
    signed_in = csrf_client.post(
        "/connexion", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": before}
    )
    assert signed_in.status_code == 303

    stale = csrf_client.post(
        "/compte", data={"action": "profile", "profile-full_name": "Nom Modifié", "csrf_token": before}
    )
    assert stale.status_code == 400
    assert "Formulaire expiré" in stale.get_data(as_text=True)

    page = csrf_client.get("/compte").get_data(as_text=True)
    after = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert after != before
    fresh = csrf_client.post(
        "/compte", data={"action": "profile", "profile-full_name": "Nom Modifié", "csrf_token": after}
    )
    assert fresh.status_code == 303
