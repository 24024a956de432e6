"""Employee register pages: list with live search, add, edit, erase with confirmation, CSV import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Employee, Enrolment, EnrolmentStatus
from tests.web.pages import count_queries, flashes, text, visible_text


@pytest.fixture
def company_admin(make):
    admin = make.user(email="rh@boulangerie.fr", full_name="Rita RH")
    company = make.company(admin=admin, name="Boulangerie Martin")
    return company, admin


@pytest.fixture
def signed_in(client, login, company_admin):
    company, admin = company_admin
    login(client, admin)
    return company


def url(company, path=""):
    return f"/entreprise/{company.slug}/salaries{path}"


def employees_of(company):
    return db.session.scalars(
        select(Employee).where(Employee.company_id == company.id).order_by(Employee.id)
    ).all()


def enrol(make, company, employee, status=EnrolmentStatus.CONFIRMED):
    """An enrolment row written directly (the enrolment rules are tested elsewhere)."""
    session = make.session()
    db.session.add(
        Enrolment(
            session_id=session.id,
            company_id=company.id,
            employee_id=employee.id,
            opco_id=session.opco_id,
            provider_id=session.provider_id,
            status=status,
            price_cents=50_000,
            funded_cents=50_000,
            remainder_cents=0,
            size_band=company.size_band,
        )
    )
    db.session.commit()


# --- List and search --------------------------------------------------------------------------------------


def test_empty_register_invites_to_add_or_import(client, signed_in):
    response = client.get(url(signed_in))
    assert response.status_code == 200
    page = visible_text(response)
    assert "Registre des salariés" in page
    assert "Votre registre est vide. Ajoutez un salarié ou importez la liste depuis un fichier CSV" in page


def test_dashboard_links_to_the_register(client, signed_in):
    response = client.get(f"/entreprise/{signed_in.slug}/")
    assert f'href="{url(signed_in)}"' in text(response)


def test_list_shows_employees_by_name_with_search(client, signed_in, make):
    make.employee(
        signed_in, last_name="Zola", first_name="Émile", email="emile@boulangerie.fr", job_title="Livreur"
    )
    make.employee(signed_in, last_name="Bernard", first_name="Alice", email="alice@boulangerie.fr")
    make.employee(make.company(), last_name="Intrus", first_name="Ivan")

    page = visible_text(client.get(url(signed_in)))
    assert "2 salariés dans le registre." in page
    assert page.index("BERNARD Alice") < page.index("ZOLA Émile")
    assert "ZOLA Émile emile@boulangerie.fr Livreur CDI Employé 0" in page
    assert "Intrus" not in page

    # A bookmarkable search: the whole page, with the query kept in the field.
    response = client.get(url(signed_in, "?q=zol"))
    page = visible_text(response)
    assert "1 salarié pour « zol »." in page and "Bernard" not in page.replace("BERNARD", "")
    assert 'value="zol"' in text(response)

    # The same URL asked by htmx answers only the table, and says so to caches.
    fragment = client.get(url(signed_in, "?q=alice"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in text(fragment) and "BERNARD Alice" in visible_text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]
    # A history restore gets the whole page.
    restore = client.get(
        url(signed_in, "?q=alice"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in text(restore)

    none = visible_text(client.get(url(signed_in, "?q=personne")))
    assert "Aucun salarié ne correspond à « personne »." in none


def test_list_runs_a_constant_number_of_queries(client, signed_in, make):
    def queries_for_list() -> int:
        with count_queries() as statements:
            response = client.get(url(signed_in))
        assert response.status_code == 200
        return len(statements)

    people = [make.employee(signed_in) for _ in range(3)]
    enrol(make, signed_in, people[0])
    few = queries_for_list()
    for _ in range(37):
        enrol(make, signed_in, make.employee(signed_in))
    many = queries_for_list()
    assert few == many, (few, many)


# --- Add and edit -----------------------------------------------------------------------------------------


def test_add_an_employee(client, signed_in):
    form = client.get(url(signed_in, "/nouveau"))
    assert form.status_code == 200
    assert '<label for="last_name">Nom' in text(form)
    response = client.post(
        url(signed_in, "/nouveau"),
        data={
            "last_name": " Durand ",
            "first_name": "Léa",
            "email": "Lea.Durand@Boulangerie.fr",
            "job_title": "Vendeuse",
            "contract_type": "cdd",
            "category": "employe",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == url(signed_in)
    assert "La fiche de Léa Durand est ajoutée au registre." in flashes(
        client.get(response.headers["Location"])
    )
    [lea] = employees_of(signed_in)
    assert (lea.last_name, lea.email, lea.contract_type) == ("Durand", "lea.durand@boulangerie.fr", "cdd")


def test_invalid_form_shows_the_reason_next_to_the_field(client, signed_in, make):
    make.employee(signed_in, last_name="Durand", first_name="Léa", email="lea@boulangerie.fr")
    base = {"last_name": "Autre", "first_name": "Léa", "contract_type": "cdi", "category": "employe"}

    response = client.post(url(signed_in, "/nouveau"), data={**base, "last_name": ""})
    assert response.status_code == 422
    assert 'id="last_name-erreur" class="field-error">Indiquez le nom du salarié.' in text(response)

    response = client.post(url(signed_in, "/nouveau"), data={**base, "email": "LEA@boulangerie.fr"})
    assert response.status_code == 422
    assert "Un autre salarié du registre a déjà l'adresse lea@boulangerie.fr" in text(response)
    assert 'aria-invalid="true"' in text(response)

    response = client.post(url(signed_in, "/nouveau"), data={**base, "email": "pas-une-adresse"})
    assert response.status_code == 422
    assert "Saisissez une adresse e-mail professionnelle valide" in text(response)

    response = client.post(url(signed_in, "/nouveau"), data={**base, "contract_type": "stage"})
    assert response.status_code == 422
    assert len(employees_of(signed_in)) == 1


def test_edit_an_employee(client, signed_in, make):
    lea = make.employee(signed_in, last_name="Durand", first_name="Léa", email="lea@boulangerie.fr")
    form = client.get(url(signed_in, f"/{lea.id}/modifier"))
    assert form.status_code == 200
    assert 'value="lea@boulangerie.fr"' in text(form)
    assert "Modifier la fiche de Léa Durand" in visible_text(form)
    response = client.post(
        url(signed_in, f"/{lea.id}/modifier"),
        data={
            "last_name": "Durand",
            "first_name": "Léa",
            "email": "lea@boulangerie.fr",
            "job_title": "Cheffe de rayon",
            "contract_type": "cdi",
            "category": "technicien",
        },
    )
    assert response.status_code == 303
    assert "La fiche de Léa Durand est enregistrée." in flashes(client.get(url(signed_in)))
    db.session.refresh(lea)
    assert (lea.job_title, lea.category) == ("Cheffe de rayon", "technicien")


def test_another_company_s_employee_is_not_found(client, signed_in, make):
    foreign = make.employee(make.company(), last_name="Intrus")
    assert client.get(url(signed_in, f"/{foreign.id}/modifier")).status_code == 404
    assert client.post(url(signed_in, f"/{foreign.id}/supprimer")).status_code == 404
    db.session.refresh(foreign)
    assert foreign.erased_at is None


def test_a_role_without_the_permission_is_refused(client, login, signed_in, make):
    viewer = make.user()
    make.member(signed_in, viewer, "viewer")
    other = type(client)(client.application)
    login(other, viewer)
    assert other.get(url(signed_in)).status_code == 403


# --- Erase ------------------------------------------------------------------------------------------------


def test_erase_explains_then_blanks_personal_data(client, signed_in, make):
    lea = make.employee(signed_in, last_name="Durand", first_name="Léa", email="lea@boulangerie.fr")
    enrol(make, signed_in, lea, status=EnrolmentStatus.CANCELLED)  # history only

    confirm = client.get(url(signed_in, f"/{lea.id}/supprimer"))
    assert confirm.status_code == 200
    page = visible_text(confirm)
    assert "Supprimer Léa Durand du registre" in page
    assert "effacés définitivement" in page and "restent comptées" in page
    assert "Effacer définitivement les données de Léa Durand" in page

    response = client.post(url(signed_in, f"/{lea.id}/supprimer"))
    assert response.status_code == 303
    assert "Les données personnelles de Léa Durand sont effacées du registre." in flashes(
        client.get(url(signed_in))
    )
    db.session.refresh(lea)
    assert (lea.last_name, lea.email, lea.erased_at is not None) == ("—", "", True)
    assert db.session.scalar(select(Enrolment.employee_id)) == lea.id

    page = visible_text(client.get(url(signed_in)))
    assert "0 salarié dans le registre." in page
    page = visible_text(client.get(url(signed_in, "?supprimes=1")))
    assert "Salarié supprimé données effacées le" in page and "Durand" not in page
    # Nothing left to edit or erase.
    assert client.get(url(signed_in, f"/{lea.id}/modifier")).status_code == 404


def test_erase_is_refused_while_an_enrolment_is_alive(client, signed_in, make):
    lea = make.employee(signed_in, last_name="Durand", first_name="Léa", email="lea@boulangerie.fr")
    enrol(make, signed_in, lea, status=EnrolmentStatus.WAITLISTED)

    page = visible_text(client.get(url(signed_in, f"/{lea.id}/supprimer")))
    assert "Léa Durand a 1 inscription en cours" in page
    assert "annulez d'abord ses inscriptions en cours" in page
    assert "Effacer définitivement" not in page

    response = client.post(url(signed_in, f"/{lea.id}/supprimer"))
    assert response.status_code == 303
    message = flashes(client.get(response.headers["Location"]))
    assert any("annulez d'abord ses inscriptions en cours" in m for m in message)
    db.session.refresh(lea)
    assert (lea.last_name, lea.erased_at) == ("Durand", None)


# --- Import -----------------------------------------------------------------------------------------------


def upload(client, company, content: bytes, filename="salaries.csv"):
    import io

    return client.post(
        url(company, "/importer"),
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_template_download(client, signed_in):
    response = client.get(url(signed_in, "/modele-salaries.csv"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="modele-salaries.csv"' in response.headers["Content-Disposition"]
    assert response.data == "\ufeffnom;prénom;email;fonction;contrat;catégorie\r\n".encode()


def test_import_page_explains_the_columns(client, signed_in):
    page = visible_text(client.get(url(signed_in, "/importer")))
    assert "Importer des salariés depuis un fichier CSV" in page
    assert "Télécharger le modèle de fichier (modele-salaries.csv)" in page
    assert "CDI, CDD, Intérim" in page


def test_import_shows_a_line_by_line_report(client, signed_in, make):
    make.employee(
        signed_in, last_name="Durand", first_name="Léa", email="lea@boulangerie.fr", job_title="Vendeuse"
    )
    content = (
        "Nom;Prénom;Email;Fonction;Contrat;Catégorie\n"
        "Durand;Léa;lea@boulangerie.fr;Cheffe de rayon;CDI;Employé\n"
        "Morel;Paul;;Boulanger;apprentissage;Ouvrier\n"
        ";Sans nom;;;;\n"
        "Roux;Anna;;;CDI;Directrice\n"
    ).encode("cp1252")
    response = upload(client, signed_in, content)
    assert response.status_code == 200
    page = visible_text(response)
    assert "Résultat de l'import de salaries.csv" in page
    assert "1 salarié ajouté" in page and "1 salarié mis à jour" in page and "2 lignes en erreur" in page
    assert "Fichier lu en Windows-1252, séparateur « point-virgule »." in page
    assert "2 DURAND Léa Mis à jour Modifié : fonction." in page
    assert "3 MOREL Paul Ajouté" in page
    assert "4 Sans nom Erreur Indiquez le nom du salarié." in page
    assert "5 ROUX Anna Erreur Catégorie « Directrice » inconnue" in page
    assert sorted(e.last_name for e in employees_of(signed_in)) == ["Durand", "Morel"]


def test_unreadable_import_is_refused_and_nothing_is_written(client, signed_in):
    response = upload(client, signed_in, "Durand;Léa\nMorel;Paul\n".encode(), "liste.csv")
    assert response.status_code == 422
    assert "La première ligne du fichier doit contenir les intitulés des colonnes" in text(response)
    assert employees_of(signed_in) == []

    response = upload(client, signed_in, b"PK\x03\x04rest-of-a-zip", "liste.xlsx")
    assert response.status_code == 422
    assert "Ce fichier est un classeur Excel (.xlsx), pas un fichier CSV." in text(response)

    response = client.post(url(signed_in, "/importer"), data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choisissez le fichier CSV à importer." in text(response)
    assert employees_of(signed_in) == []
