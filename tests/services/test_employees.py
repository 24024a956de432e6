"""The employee register: validation, erasure at the company's request, search, and the CSV import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Employee, Enrolment, EnrolmentStatus
from marketplace.services import employee_import
from marketplace.services import employees as register
from marketplace.services.employees import EmployeeInput
from marketplace.services.errors import DomainError


@pytest.fixture
def company(make):
    return make.company(name="Boulangerie Martin")


def add(company, last_name="Durand", first_name="Léa", **values):
    employee = register.create_employee(company, EmployeeInput(last_name, first_name, **values), actor=None)
    db.session.commit()
    return employee


def enrol(make, company, employee, status=EnrolmentStatus.CONFIRMED) -> Enrolment:
    """An enrolment row written directly: this module tests the register, not the enrolment rules."""
    session = make.session()
    enrolment = Enrolment(
        session_id=session.id,
        company_id=company.id,
        employee_id=employee.id,
        opco_id=session.opco_id,
        provider_id=session.provider_id,
        status=status,
        price_cents=100_000,
        funded_cents=100_000,
        remainder_cents=0,
        size_band=company.size_band,
    )
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def events(action):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


# --- Create and update ------------------------------------------------------------------------------------


def test_create_trims_and_normalises(company):
    employee = add(
        company,
        "  Le   Goff ",
        " Anne-Marie ",
        email=" Anne.LeGoff@Martin.FR ",
        job_title="  Vendeuse ",
        contract_type="cdd",
        category="employe",
    )
    assert (employee.last_name, employee.first_name, employee.email, employee.job_title) == (
        "Le Goff",
        "Anne-Marie",
        "anne.legoff@martin.fr",
        "Vendeuse",
    )
    assert (employee.company_id, employee.contract_type, employee.erased_at) == (company.id, "cdd", None)
    [event] = events("employee.created")
    assert (event.organisation_id, event.object_id, event.data) == (company.id, employee.id, {})


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"last_name": "   "}, "last_name", "Indiquez le nom du salarié."),
        ({"first_name": ""}, "first_name", "Indiquez le prénom du salarié."),
        ({"last_name": "x" * 101}, "last_name", "Le nom ne peut pas dépasser 100 caractères."),
        ({"first_name": "x" * 101}, "first_name", "Le prénom ne peut pas dépasser 100 caractères."),
        ({"email": "lea.durand@"}, "email", "Saisissez une adresse e-mail professionnelle valide"),
        ({"job_title": "x" * 151}, "job_title", "La fonction ne peut pas dépasser 150 caractères."),
        ({"contract_type": "stage"}, "contract_type", "Choisissez un type de contrat parmi : CDI, CDD"),
        ({"category": "dirigeant"}, "category", "Choisissez une catégorie parmi : Ouvrier, Employé"),
    ],
)
def test_each_rule_refuses_with_a_french_message(company, values, field, message):
    data = EmployeeInput(**{"last_name": "Durand", "first_name": "Léa", **values})
    with pytest.raises(DomainError) as refused:
        register.create_employee(company, data, actor=None)
    assert refused.value.field == field
    assert refused.value.message.startswith(message)


def test_names_of_exactly_100_characters_are_accepted(company):
    employee = add(company, "x" * 100, "y" * 100)
    assert len(employee.last_name) == 100


def test_email_is_optional(company):
    assert add(company, email="").email == ""
    assert add(company, "Petit", "Jean").email == ""  # two employees without email are fine


def test_duplicate_email_is_refused_within_the_company_only(company, make):
    add(company, email="lea.durand@martin.fr")
    with pytest.raises(DomainError) as refused:
        register.create_employee(company, EmployeeInput("Autre", "Léa", email="LEA.DURAND@martin.fr"), None)
    assert refused.value.field == "email"
    assert "déjà l'adresse lea.durand@martin.fr" in refused.value.message
    other = make.company()
    assert add(other, email="lea.durand@martin.fr").company_id == other.id


def test_email_of_an_erased_employee_can_be_reused(company):
    old = add(company, email="lea.durand@martin.fr")
    register.erase_employee(old, None)
    assert add(company, email="lea.durand@martin.fr").id != old.id


def test_update_applies_the_same_rules_and_audits_changed_fields(company):
    lea = add(company, email="lea@martin.fr")
    add(company, "Morel", "Paul", email="paul@martin.fr")
    with pytest.raises(DomainError, match="déjà l'adresse paul@martin.fr"):
        register.update_employee(lea, EmployeeInput("Durand", "Léa", email="paul@martin.fr"), None)
    db.session.rollback()
    with pytest.raises(DomainError, match="Indiquez le nom"):
        register.update_employee(lea, EmployeeInput("", "Léa"), None)
    db.session.rollback()
    # Keeping one's own address is not a duplicate.
    register.update_employee(
        lea,
        EmployeeInput("Durand", "Léa", email="lea@martin.fr", job_title="Pâtissière", category="technicien"),
        None,
    )
    db.session.commit()
    assert (lea.job_title, lea.category) == ("Pâtissière", "technicien")
    [event] = events("employee.updated")
    assert event.data == {"champs": "fonction, catégorie"}


def test_update_without_change_writes_no_audit(company):
    lea = add(company, email="lea@martin.fr")
    register.update_employee(lea, EmployeeInput("Durand", "Léa", email="lea@martin.fr"), None)
    assert events("employee.updated") == []


# --- Erasure ----------------------------------------------------------------------------------------------


def test_erase_blanks_personal_data_and_keeps_the_row(company, make):
    lea = add(company, email="lea@martin.fr", job_title="Vendeuse", contract_type="cdd", category="employe")
    past = enrol(make, company, lea, status=EnrolmentStatus.CANCELLED)
    register.erase_employee(lea, None)
    db.session.commit()

    row = db.session.get(Employee, lea.id)
    assert (row.last_name, row.first_name, row.email, row.job_title) == ("—", "—", "", "")
    assert row.erased_at is not None
    assert (row.full_name, row.display_name) == ("Salarié supprimé", "Salarié supprimé")
    # The enrolment history still counts this (anonymous) employee.
    assert db.session.get(Enrolment, past.id).employee_id == lea.id
    [event] = events("employee.erased")
    assert (event.object_type, event.object_id, event.data) == ("Employee", lea.id, {})
    assert "lea" not in str(event.data).lower()


@pytest.mark.parametrize("status", EnrolmentStatus.ACTIVE)
def test_erase_is_refused_while_an_enrolment_is_alive(company, make, status):
    lea = add(company, email="lea@martin.fr")
    enrol(make, company, lea, status=status)
    with pytest.raises(DomainError, match="annulez d'abord ses inscriptions en cours"):
        register.erase_employee(lea, None)
    db.session.rollback()
    assert db.session.get(Employee, lea.id).email == "lea@martin.fr"
    assert events("employee.erased") == []


def test_erased_employee_cannot_be_erased_again_nor_edited(company):
    lea = add(company)
    register.erase_employee(lea, None)
    with pytest.raises(DomainError, match="déjà été supprimé"):
        register.erase_employee(lea, None)
    with pytest.raises(DomainError, match="ne peut plus être modifiée"):
        register.update_employee(lea, EmployeeInput("Durand", "Léa"), None)


# --- Listing ----------------------------------------------------------------------------------------------


def test_list_orders_by_last_name_and_searches_names_and_email(company, make):
    add(company, "Zola", "Émile", email="emile@boulangerie.fr")
    add(company, "bernard", "Alice", email="alice@boulangerie.fr")
    add(company, "Martin", "Bruno", email="b.martin@ailleurs.fr")
    gone = add(company, "Ancien", "Salarié")
    register.erase_employee(gone, None)
    add(make.company(), "Martin", "Intrus")  # another company's employee never shows

    page = register.list_employees(company)
    assert [r.employee.last_name for r in page.rows] == ["bernard", "Martin", "Zola"]
    assert page.total == 3

    assert [r.employee.first_name for r in register.list_employees(company, q="martin").rows] == ["Bruno"]
    assert [r.employee.first_name for r in register.list_employees(company, q="ALI").rows] == ["Alice"]
    assert [r.employee.first_name for r in register.list_employees(company, q="bruno martin").rows] == [
        "Bruno"
    ]
    assert register.list_employees(company, q="100%").rows == []

    with_erased = register.list_employees(company, include_erased=True)
    assert [r.employee.full_name for r in with_erased.rows][-1] == "Salarié supprimé"


def test_list_counts_live_enrolments_and_paginates(company, make):
    lea = add(company, "Durand", "Léa")
    enrol(make, company, lea, status=EnrolmentStatus.CONFIRMED)
    enrol(make, company, lea, status=EnrolmentStatus.WAITLISTED)
    enrol(make, company, lea, status=EnrolmentStatus.CANCELLED)
    for n in range(30):
        add(company, f"Nom{n:02d}", "Test")
    first = register.list_employees(company, page=1)
    assert (first.total, first.pages, len(first.rows)) == (31, 2, 25)
    counts = {r.employee.last_name: r.active_enrolments for r in first.rows}
    assert counts["Durand"] == 2 and counts["Nom00"] == 0
    assert len(register.list_employees(company, page=2).rows) == 6
    assert register.list_employees(company, page=99).page == 2


def test_employee_choices_are_the_company_s_live_employees_by_name(company, make):
    add(company, "Zola", "Émile")
    add(company, "Bernard", "Alice")
    register.erase_employee(add(company, "Ancien", "Salarié"), None)
    add(make.company(), "Autre", "Entreprise")
    assert [e.last_name for e in register.employee_choices(company)] == ["Bernard", "Zola"]


def test_employees_by_ids_rechecks_the_tenant(company, make):
    mine = add(company)
    foreign = add(make.company(), "Autre", "Entreprise")
    assert register.employees_by_ids(company, [mine.id]) == [mine]
    with pytest.raises(DomainError, match="n'est pas dans votre registre"):
        register.employees_by_ids(company, [mine.id, foreign.id])


# --- CSV import -------------------------------------------------------------------------------------------


def do_import(company, content: bytes):
    report = employee_import.import_employees(company, content, actor=None)
    db.session.commit()
    return report


def register_rows(company):
    return db.session.scalars(
        select(Employee).where(Employee.company_id == company.id).order_by(Employee.last_name)
    ).all()


def test_import_utf8_with_bom_and_semicolons(company):
    content = (
        "\ufeffNom;Prénom;E-mail;Fonction;Contrat;Catégorie\r\n"
        "Durand;Léa;lea@martin.fr;Vendeuse;CDI;Employé\r\n"
        "Morel;Paul;;Boulanger;Contrat d'apprentissage;ouvrier\r\n"
        ";;;;;\r\n"
        "Bœuf;Zoé;zoe@martin.fr;Responsable;cdd;Technicien / agent de maîtrise\r\n"
    ).encode()
    report = do_import(company, content)
    assert (report.created, report.updated, report.errors, report.encoding, report.delimiter) == (
        3,
        0,
        0,
        "UTF-8",
        ";",
    )
    assert [(line.line, line.status) for line in report.lines] == [
        (2, "created"),
        (3, "created"),
        (5, "created"),
    ]
    rows = {e.last_name: e for e in register_rows(company)}
    assert (rows["Durand"].email, rows["Durand"].contract_type, rows["Durand"].category) == (
        "lea@martin.fr",
        "cdi",
        "employe",
    )
    assert (rows["Morel"].contract_type, rows["Morel"].category) == ("apprentissage", "ouvrier")
    assert (rows["Bœuf"].contract_type, rows["Bœuf"].category) == ("cdd", "technicien")
    [event] = events("employee.imported")
    assert event.data == {"ajoutés": 3, "mis à jour": 0, "erreurs": 0}


def test_import_windows_1252_with_commas_and_accented_names(company):
    content = (
        "NOM,PRENOM,Courriel,Poste,Type de contrat,Categorie\r\n"
        "Lefèvre,Hélène,helene@martin.fr,Comptable,CDD,Cadre\r\n"
        '"Müller, épouse Gaël",Françoise,,"Agent d\'entretien, nuit",Intérim,technicien\r\n'
    ).encode("cp1252")
    report = do_import(company, content)
    assert (report.created, report.errors, report.encoding, report.delimiter) == (2, 0, "Windows-1252", ",")
    names = {
        (e.last_name, e.first_name, e.job_title, e.contract_type, e.category) for e in register_rows(company)
    }
    assert names == {
        ("Lefèvre", "Hélène", "Comptable", "cdd", "cadre"),
        ("Müller, épouse Gaël", "Françoise", "Agent d'entretien, nuit", "interim", "technicien"),
    }


def test_import_reports_bad_lines_and_imports_the_good_ones(company):
    add(company, "Existant", "Max", email="max@martin.fr")
    content = (
        "nom;prénom;email;contrat;catégorie;matricule\n"
        "Durand;Léa;lea@martin.fr;CDI;Employé;A1\n"  # 2 ok
        ";Paul;;CDI;Employé;A2\n"  # 3 no last name
        "Morel;Paul;paul@;CDI;Employé;A3\n"  # 4 bad email
        "Petit;Jean;;stage;Employé;A4\n"  # 5 unknown contract
        "Roux;Anna;;CDI;Directeur;A5\n"  # 6 unknown category
        "Doublon;Léa;LEA@martin.fr;CDI;Employé;A6\n"  # 7 same email as line 2
        f"{'x' * 101};Long;;;;A7\n"  # 8 name too long
        "Blanc;Tom\n"  # 9 short line: defaults
    ).encode()
    report = do_import(company, content)
    assert (report.created, report.updated, report.errors) == (2, 0, 6)
    assert report.ignored_columns == ["matricule"]
    by_line = {line.line: line for line in report.lines}
    assert by_line[2].status == "created" and by_line[9].status == "created"
    assert by_line[3].message == "Indiquez le nom du salarié."
    assert by_line[4].message.startswith("Saisissez une adresse e-mail professionnelle valide")
    assert by_line[5].message.startswith("Contrat « stage » inconnu : indiquez CDI, CDD")
    assert by_line[6].message.startswith("Catégorie « Directeur » inconnue : indiquez Ouvrier")
    assert by_line[7].message == "L'adresse lea@martin.fr figure déjà à la ligne 2 du fichier."
    assert by_line[8].message == "Le nom ne peut pas dépasser 100 caractères."
    assert {line.status for n, line in by_line.items() if n not in (2, 9)} == {"error"}
    assert sorted(e.last_name for e in register_rows(company)) == ["Blanc", "Durand", "Existant"]
    blanc = next(e for e in register_rows(company) if e.last_name == "Blanc")
    assert (blanc.contract_type, blanc.category, blanc.email) == ("cdi", "employe", "")


def test_import_updates_by_email_and_keeps_values_of_empty_cells(company):
    lea = add(
        company,
        "Durand",
        "Léa",
        email="lea@martin.fr",
        job_title="Vendeuse",
        contract_type="cdd",
        category="employe",
    )
    content = "nom;prénom;email;fonction;contrat;catégorie\nDurand-Morel;Léa;LEA@Martin.fr;;CDI;\n".encode()
    report = do_import(company, content)
    assert (report.created, report.updated, report.errors) == (0, 1, 0)
    assert report.lines[0].message == "Modifié : nom, contrat."
    db.session.refresh(lea)
    assert (lea.last_name, lea.job_title, lea.contract_type, lea.category) == (
        "Durand-Morel",
        "Vendeuse",
        "cdi",
        "employe",
    )
    assert len(register_rows(company)) == 1


def test_import_warns_about_a_possible_duplicate_without_email(company):
    add(company, "Durand", "Léa")
    report = do_import(company, "nom;prénom\nDURAND;Lea\n".encode())
    assert report.lines[0].status == "created"
    assert "Un salarié porte déjà ce nom" in report.lines[0].message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"\xef\xbb\xbf\r\n\r\n", "Le fichier est vide."),
        (b"PK\x03\x04\x14\x00\x06\x00binary", "Ce fichier est un classeur Excel (.xlsx)"),
        (bytes(range(256)) * 4, "Ce fichier n'est pas un fichier CSV lisible"),
        (
            "Durand;Léa;lea@martin.fr\nMorel;Paul;\n".encode(),
            "La première ligne du fichier doit contenir les intitulés",
        ),
        (b"nom;email\nDurand;lea@martin.fr\n", "Colonne obligatoire absente : « prénom »"),
        (
            "nom;prénom;mail;courriel\nDurand;Léa;a@b.fr;c@d.fr\n".encode(),
            "La colonne « email » apparaît deux fois",
        ),
        ("nom;prénom\n".encode(), "Le fichier ne contient aucune ligne de salarié"),
        (("nom;prénom\n" + "Durand;Léa\n" * 2001).encode(), "Le fichier contient plus de 2\u202f000 lignes"),
        (b"nom;pr\xc3\xa9nom\n" + b"Durand;L\xc3\xa9a;" + b"x" * (1024 * 1024), "Le fichier dépasse 1 Mo."),
    ],
)
def test_unreadable_file_imports_nothing(company, content, message):
    add(company, "Existant", "Max", email="max@martin.fr")
    with pytest.raises(DomainError) as refused:
        employee_import.import_employees(company, content, actor=None)
    db.session.rollback()
    assert refused.value.message.startswith(message), refused.value.message
    assert refused.value.field == "file"
    assert [e.last_name for e in register_rows(company)] == ["Existant"]
    assert events("employee.imported") == []


def test_import_accepts_exactly_2000_lines(company):
    report = do_import(company, ("nom;prénom\n" + "".join(f"Nom{n};Léa\n" for n in range(2000))).encode())
    assert report.created == 2000


def test_template_round_trips_through_the_import(company):
    template = employee_import.template_csv()
    assert template.startswith(b"\xef\xbb\xbf")
    assert template.decode("utf-8-sig").strip() == "nom;prénom;email;fonction;contrat;catégorie"
    report = do_import(company, template + "Durand;Léa;;;Cadre;Cadre\n".encode())
    assert report.errors == 1  # « Cadre » is a category, not a contract
    report = do_import(company, template + "Durand;Léa;;;CDI;Cadre\n".encode())
    assert report.created == 1
