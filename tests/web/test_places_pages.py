"""A session's place: its region is the postal code's, derived or checked (issue 8, case 9)."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import TrainingSession
from tests.web.pages import text
from tests.web.test_provider_sessions import form_data, url
from tests.web.test_provider_sessions_inputs import action, provider, referencing, signed_in  # noqa: F401


def test_session_region_is_derived_from_its_postal_code(signed_in, provider, referencing):  # noqa: F811
    response = signed_in.post(
        url(provider, "/nouvelle"),
        data=form_data(referencing.id, postal_code="97411", city="Saint-Paul", region_code=""),
    )
    assert response.status_code == 303, text(response)[:800]
    assert db.session.scalar(select(TrainingSession.region_code)) == "04"


def test_session_in_another_region_than_its_postal_code_is_refused(signed_in, provider, referencing):  # noqa: F811
    response = signed_in.post(
        url(provider, "/nouvelle"),
        data=form_data(referencing.id, postal_code="75008", city="Paris", region_code="76"),
    )
    assert response.status_code == 422
    assert (
        "Le code postal 75008 se trouve dans la région Île-de-France, pas dans la région Occitanie"
        in text(response)
    )
    assert db.session.scalar(select(func.count(TrainingSession.id))) == 0
