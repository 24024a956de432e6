"""The company's headcount is kept with its year (annual average of year N-1) and the company updates it
(issue 8, case 11)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Company
from tests.web.pages import flashes, text
from tests.web.test_signup import company_form, sign_up

LAST_YEAR = paris_today().year - 1


def company_admin(make, login, client, headcount=20):
    admin = make.user()
    company = make.company(admin=admin, headcount=headcount)
    login(client, admin)
    return company, admin


def fresh(company) -> Company:
    db.session.expire_all()
    return db.session.get(Company, company.id)


def test_the_company_updates_its_headcount_and_its_size_band_follows(client, login, make):
    company, admin = company_admin(make, login, client, headcount=20)
    page = client.get(f"/entreprise/{company.slug}/effectif")
    assert page.status_code == 200
    assert "effectif moyen annuel de l'année précédente" in text(page)

    response = client.post(
        f"/entreprise/{company.slug}/effectif",
        data={"headcount": "60", "headcount_year": str(LAST_YEAR)},
    )
    assert response.status_code == 303
    saved = fresh(company)
    assert (saved.headcount, saved.headcount_year, saved.size_band) == (60, LAST_YEAR, "50-249")
    assert response.headers["Location"].endswith(f"/entreprise/{company.slug}/")
    assert any(
        "Effectif enregistré : 60 salariés" in m for m in flashes(client.get(response.headers["Location"]))
    )
    # Audited with the values before and after, the size band included.
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.organisation_id == company.id, AuditEvent.action == "company.headcount_changed"
        )
    ).all()
    assert event.actor_id == admin.id
    assert event.data["headcount"] == [20, 60]
    assert event.data["size_band"] == ["11-49", "50-249"]
    # The dashboard and the profile show it with its year.
    dashboard = text(client.get(f"/entreprise/{company.slug}/"))
    assert f"Effectif moyen {LAST_YEAR} : 60 salariés" in dashboard
    assert f"60 salariés en {LAST_YEAR}" in text(client.get(f"/org/{company.slug}/profil"))


@pytest.mark.parametrize(
    ("headcount", "year", "field", "message"),
    [
        ("0", str(LAST_YEAR), "headcount", "fonds d'assurance formation (FAF)"),
        ("2000000", str(LAST_YEAR), "headcount", "compris entre 1 et 1 000 000"),
        ("-5", str(LAST_YEAR), "headcount", "compris entre 1 et 1 000 000"),
        ("douze", str(LAST_YEAR), "headcount", "compris entre 1 et 1 000 000"),
        ("60", str(LAST_YEAR + 1), "headcount_year", f"indiquez l'année {LAST_YEAR}"),
        ("60", str(LAST_YEAR - 2), "headcount_year", f"indiquez l'année {LAST_YEAR}"),
        ("60", "99999", "headcount_year", f"indiquez l'année {LAST_YEAR}"),
        ("60", "deux mille", "headcount_year", f"indiquez l'année {LAST_YEAR}"),
    ],
)
def test_a_wrong_headcount_or_year_is_refused_and_changes_nothing(
    client, login, make, headcount, year, field, message
):
    company, _admin = company_admin(make, login, client, headcount=20)
    before = db.session.scalar(select(db.func.count(AuditEvent.id)))
    response = client.post(
        f"/entreprise/{company.slug}/effectif", data={"headcount": headcount, "headcount_year": year}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="{field}-erreur"' in body
    assert message in text(response)
    saved = fresh(company)
    assert (saved.headcount, saved.headcount_year) == (20, LAST_YEAR)
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == before


def test_the_year_before_last_is_accepted_early_in_the_year(client, login, make):
    company, _admin = company_admin(make, login, client)
    response = client.post(
        f"/entreprise/{company.slug}/effectif", data={"headcount": "12", "headcount_year": str(LAST_YEAR - 1)}
    )
    assert response.status_code == 303
    assert fresh(company).headcount_year == LAST_YEAR - 1


def test_only_the_administrator_updates_the_headcount(client, login, make):
    company = make.company()
    hr = make.user()
    make.member(company, hr, "hr")
    login(client, hr)
    assert client.get(f"/entreprise/{company.slug}/effectif").status_code == 403
    response = client.post(
        f"/entreprise/{company.slug}/effectif", data={"headcount": "300", "headcount_year": str(LAST_YEAR)}
    )
    assert response.status_code == 403
    assert fresh(company).headcount == 20
    # The dashboard shows no link to a page the member cannot open.
    assert "mettre à jour l'effectif" not in text(client.get(f"/entreprise/{company.slug}/"))


def test_sign_up_asks_the_year_of_the_headcount(client, make, outbox):
    make.opco("akto")
    page = client.get("/inscription/entreprise")
    assert 'name="headcount_year"' in page.get_data(as_text=True)
    assert f'value="{LAST_YEAR}"' in page.get_data(as_text=True)  # last year by default

    response = sign_up(client, "/inscription/entreprise", company_form(headcount_year=str(LAST_YEAR - 1)))
    assert response.status_code == 303
    company = db.session.scalar(select(Company).order_by(Company.id.desc()))
    assert (company.headcount, company.headcount_year) == (42, LAST_YEAR - 1)


def test_sign_up_refuses_a_year_that_is_not_last_year_s(client, make):
    make.opco("akto")
    response = client.post("/inscription/entreprise", data=company_form(headcount_year=str(LAST_YEAR + 1)))
    assert response.status_code == 422
    assert f"indiquez l'année {LAST_YEAR}" in text(response)
    assert db.session.scalar(select(Company.id)) is None
