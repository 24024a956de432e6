"""IDCC reference data (issue 8, case 14): OCAPIAT's branches, obsolete codes, « sans convention » (9999), an
OPCO stated by the company and confirmed by the operator, and France Compétences' table imported in place."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Company, Enrolment, IdccBranch, Opco
from marketplace.services import company_profile, organisations
from marketplace.services.organisations import CompanyInput
from marketplace.services.reference_data import load_reference_data
from tests.factories import next_siret
from tests.web.pages import text, visible_text


def _stated(make, idcc: str, opco_code: str = "akto") -> Company:
    admin = make.user()
    company = organisations.create_company(
        CompanyInput(
            name="Atelier Sans Branche",
            siret=next_siret(),
            ape_code="6202A",
            idcc=idcc,
            headcount=12,
            region_code="",
            address="4 rue des Lilas",
            postal_code="69003",
            city="Lyon",
            declared_opco=opco_code,
        ),
        admin,
    )
    db.session.commit()
    return company


def test_ocapiat_has_its_branches_and_takes_their_companies(make):
    ocapiat = make.opco("ocapiat")
    assert {"7017", "7024"} <= set(ocapiat.idcc_codes)
    company = make.company("ocapiat", idcc="7024")
    assert company.opco_id == ocapiat.id


def test_an_obsolete_code_is_not_an_opcos_branch_by_default(make):
    assert "0650" not in make.opco("opco2i").idcc_codes
    assert "3248" in make.opco("opco2i").idcc_codes
    assert db.session.get(IdccBranch, "0650").replaced_by == "3248"


def test_9999_maps_to_no_opco_and_cannot_be_a_branch(make):
    attachment = organisations.attachment_for_idcc("9999")
    assert attachment.opco is None and attachment.needs_declared_opco
    assert "sans convention collective, aucun OPCO ne se déduit automatiquement" in attachment.message
    opco = make.opco("akto")
    try:
        organisations.set_opco_branches(opco, [*opco.idcc_codes, "9999"], None)
    except Exception as error:  # noqa: BLE001 - the DomainError's message is what matters
        assert "L'IDCC 9999 (sans convention collective) n'est la branche d'aucun OPCO." in str(error)
    else:
        raise AssertionError("9999 accepté comme branche")
    db.session.rollback()


def test_operator_confirms_a_stated_opco_then_the_company_may_enrol(app, client, login, make):
    make.opco("akto")
    session = make.session()
    company = _stated(make, "9999")
    hr = make.user()
    make.member(company, hr, "hr")
    employee = make.employee(company)
    company_client = app.test_client()
    login(company_client, hr)

    # Until the operator confirms, no OPCO: the company cannot enrol.
    assert company.opco_id is None
    page = visible_text(company_client.get(f"/entreprise/{company.slug}/catalogue"))
    assert "Vous avez indiqué AKTO comme OPCO : l'équipe de la plateforme doit le confirmer" in page
    enrol = company_client.post(
        f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
        data={"employee_ids": [str(employee.id)]},
    )
    assert enrol.status_code == 404  # another OPCO's session, as far as this company knows
    assert db.session.scalar(select(Enrolment)) is None

    operator = make.user(is_operator=True)
    login(client, operator)
    queue = visible_text(client.get("/operateur/opco-a-confirmer"))
    assert "Atelier Sans Branche" in queue and "9999 (sans convention collective) AKTO" in queue
    response = client.post(f"/operateur/entreprises/{company.id}/opco/confirmer")
    assert response.status_code == 303
    assert "Aucun OPCO à confirmer." in visible_text(client.get(response.headers["Location"]))

    company = db.session.get(Company, company.id, populate_existing=True)
    assert company.opco_id == db.session.scalar(select(Opco.id).where(Opco.code == "akto"))
    assert company.opco_confirmed_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.opco_confirmed"))
    done = company_client.post(
        f"/entreprise/{company.slug}/sessions/{session.id}/inscrire",
        data={"employee_ids": [str(employee.id)]},
    )
    assert "Confirmée" in visible_text(done)

    # A second confirmation is refused in French, nothing changes.
    again = client.post(f"/operateur/entreprises/{company.id}/opco/confirmer", follow_redirects=True)
    assert "Cette entreprise n'a pas d'OPCO en attente de confirmation." in text(again)

    # Changing AKTO's branches later keeps the confirmed company attached.
    akto = db.session.scalar(select(Opco).where(Opco.code == "akto"))
    organisations.set_opco_branches(akto, akto.idcc_codes[:2], None)
    db.session.commit()
    assert db.session.get(Company, company.id, populate_existing=True).opco_id == akto.id


def test_a_confirmed_company_joins_its_opco_when_it_arrives(make):
    company = _stated(make, "1234", "uniformation")
    company_profile.confirm_declared_opco(company.id, make.user(is_operator=True), date(2026, 1, 5))
    db.session.commit()
    assert company.opco_id is None  # Uniformation is not on the platform yet
    uniformation = make.opco("uniformation")
    assert db.session.get(Company, company.id, populate_existing=True).opco_id == uniformation.id


def test_operator_refuses_a_stated_opco(client, login, make):
    company = _stated(make, "1234", "afdas")
    login(client, make.user(is_operator=True))
    response = client.post(f"/operateur/entreprises/{company.id}/opco/refuser")
    assert response.status_code == 303
    company = db.session.get(Company, company.id, populate_existing=True)
    assert company.declared_opco_code is None and company.opco_id is None


def test_operator_queue_is_for_operators_only(client, login, make):
    company = _stated(make, "1234")
    admin = make.user()
    make.member(company, admin, "admin")
    login(client, admin)
    assert client.get("/operateur/opco-a-confirmer").status_code == 403
    assert client.post(f"/operateur/entreprises/{company.id}/opco/confirmer").status_code == 403
    assert db.session.get(Company, company.id, populate_existing=True).opco_confirmed_at is None


FRANCE_COMPETENCES_CSV = (
    "IDCC;Intitulé de la convention;OPCO\n"
    "7024;Production agricole et CUMA;OCAPIAT\n"
    "1234;Convention de test;OPCO 2i\n"
    "1486;;OPCO ATLAS\n"
    "5555;Convention inconnue;OPCO du Pôle Nord\n"
    "ABC;Mauvais code;AKTO\n"
).encode("cp1252")


@pytest.fixture
def restored_reference(db_session):
    """Reference tables are kept between tests: put back the shipped rows afterwards."""
    yield
    db_session.rollback()
    for idcc in ("1234",):
        row = db_session.get(IdccBranch, idcc)
        if row is not None:
            db_session.delete(row)
    load_reference_data()
    db_session.commit()


def test_load_reference_imports_france_competences_table_in_place(
    cli, tmp_path, db_session, restored_reference
):
    path = tmp_path / "table-fc.csv"
    path.write_bytes(FRANCE_COMPETENCES_CSV)
    result = cli("load-reference", str(path), "--date", "2026-10-01")
    assert result.exit_code == 0, result.output
    assert "1 IDCC ajouté(s), 1 mis à jour, 1 inchangé(s), 2 ligne(s) ignorée(s)" in result.output
    assert "Ligne 5 : OPCO « OPCO du Pôle Nord » inconnu (IDCC 5555)." in result.stderr
    assert "Ligne 6 : L'IDCC doit comporter de 1 à 4 chiffres" in result.stderr
    added = db_session.get(IdccBranch, "1234")
    assert (added.opco_code, added.label, added.source_date) == (
        "opco2i",
        "Convention de test",
        date(2026, 10, 1),
    )
    assert "France Compétences" in added.source and "table-fc.csv" in added.source
    updated = db_session.get(IdccBranch, "7024")
    assert updated.label == "Production agricole et CUMA" and updated.source_date == date(2026, 10, 1)
    assert db_session.get(IdccBranch, "1486").source.startswith(
        "Extrait de la table"
    )  # unchanged row keeps its source


def test_load_reference_refuses_a_file_without_idcc_column(cli, tmp_path):
    path = tmp_path / "autre.csv"
    path.write_text("Code;Nom\n1486;Syntec\n", encoding="utf-8")
    result = cli("load-reference", str(path))
    assert result.exit_code == 1
    assert "Colonne(s) absente(s) de l'en-tête : IDCC, OPCO" in result.stderr
