"""Sign-up of a company and of a training organisation, the live SIRET/IDCC check, a second organisation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Company, Membership, Organisation, TrainingProvider, User
from tests.factories import next_nda, next_siret
from tests.web.pages import count, flashes, text, token_from, visible_text

PASSWORD = "un-mot-de-passe-solide"


def company_form(**overrides) -> dict:
    data = {
        "full_name": "Léa Moreau",
        "email": "lea.moreau@proprete-lumiere.fr",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "name": "Propreté Lumière",
        "siret": next_siret(),
        "ape": "8121Z",
        "idcc": "3043",
        "headcount": "42",
        "address": "12 rue des Lilas",
        "postal_code": "69003",
        "city": "Lyon",
        "region_code": "84",
        "accept_terms": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def provider_form(**overrides) -> dict:
    today = paris_today()
    data = {
        "full_name": "Marc Petit",
        "email": "marc.petit@formation-horizon.fr",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "name": "Formation Horizon",
        "siret": next_siret(),
        "nda": next_nda("69"),
        "vat_regime": "exonere",
        "address": "3 quai Saint-Antoine",
        "postal_code": "69002",
        "city": "Lyon",
        "region_code": "84",
        "qualiopi_certifier": "AFNOR Certification",
        "qualiopi_number": "QUA-2024-0042",
        "qualiopi_categories": ["actions_formation", "bilans_competences"],
        "qualiopi_issued_on": (today - timedelta(days=200)).isoformat(),
        "qualiopi_expires_on": (today + timedelta(days=600)).isoformat(),
        "accept_terms": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def snapshot() -> tuple[int, int, int]:
    return count(Organisation), count(User), count(Membership)


SENT = "Un courriel de confirmation a été envoyé à {email}. Ouvrez le lien qu'il contient pour activer votre compte."


def sign_up(client, url: str, data: dict):
    """Post the sign-up form: the answer is always « a confirmation email was sent » (303)."""
    response = client.post(url, data=data)
    assert response.status_code == 303, visible_text(response)[:600]
    assert response.headers["Location"] == "/inscription/confirmation"
    return response


def confirm(client, outbox, email: str):
    """Open the emailed confirmation link and press its button: signed in, on the new dashboard (303)."""
    mails = [m for m in outbox(email) if m.template == "email_confirmation"]
    assert len(mails) == 1, [m.template for m in outbox(email)]
    token = token_from(mails[0].body_text, "confirmer")
    page = client.get(f"/confirmer/{token}")
    assert page.status_code == 200 and "Confirmer mon adresse" in visible_text(page)
    response = client.post(f"/confirmer/{token}")
    assert response.status_code == 303
    return response


# --- Company ---------------------------------------------------------------------------------------


def test_company_signup_page_is_in_french(client):
    response = client.get("/inscription/entreprise")
    assert response.status_code == 200
    page = text(response)
    assert "Inscrire mon entreprise" in page
    assert "IDCC (convention collective)" in page
    assert "Créer le compte de mon entreprise" in page


def test_company_signup_creates_company_admin_and_logs_in_once_confirmed(client, make, db_session, outbox):
    akto = make.opco("akto")
    form = company_form()

    sent = sign_up(client, "/inscription/entreprise", form)
    sent_page = client.get(sent.headers["Location"])
    assert SENT.format(email=form["email"]) in flashes(sent_page)
    assert "Vérifiez votre messagerie" in visible_text(sent_page)
    assert client.get("/compte").status_code == 302  # not signed in before the address is confirmed
    company = db_session.scalar(select(Company).where(Company.siret == form["siret"]))
    assert company is not None
    assert company.name == "Propreté Lumière"
    assert company.siren == form["siret"][:9]
    assert company.idcc == "3043"
    assert company.ape_code == "8121Z"
    assert company.headcount == 42 and company.size_band == "11-49"
    assert company.opco_id == akto.id
    user = db_session.scalar(select(User).where(User.email == "lea.moreau@proprete-lumiere.fr"))
    assert user is not None and user.full_name == "Léa Moreau"
    assert user.check_password(PASSWORD)
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.organisation_id == company.id and membership.role == "admin"
    actions = set(
        db_session.scalars(select(AuditEvent.action).where(AuditEvent.organisation_id == company.id))
    )
    assert {"org.created", "auth.signup"} <= actions
    assert user.email_confirmed_at is None

    # The emailed link confirms the address and signs in: the dashboard opens and names the OPCO.
    response = confirm(client, outbox, form["email"])
    assert response.headers["Location"] == "/entreprise/proprete-lumiere/"
    assert db_session.get(User, user.id).email_confirmed_at is not None
    dashboard = client.get(response.headers["Location"])
    assert dashboard.status_code == 200
    page = visible_text(dashboard)
    assert "Merci : votre adresse électronique est confirmée." in page
    assert "Votre entreprise est rattachée à AKTO" in page
    assert "IDCC 3043" in page
    assert "(de 11 à 49 salariés)" in page


def test_company_signup_normalises_what_people_type(client, make, db_session):
    make.opco("akto")
    siret = next_siret()
    typed = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    response = client.post(
        "/inscription/entreprise",
        data=company_form(
            siret=typed, ape="81.21z", idcc="IDCC 3043", email="  Lea.Moreau@Proprete-Lumiere.FR "
        ),
    )
    assert response.status_code == 303, visible_text(response)
    company = db_session.scalar(select(Company))
    assert (company.siret, company.ape_code, company.idcc) == (siret, "8121Z", "3043")
    assert db_session.scalar(select(User.email)) == "lea.moreau@proprete-lumiere.fr"


def test_company_whose_opco_is_not_on_the_platform_can_sign_up_and_is_told_so(
    client, make, db_session, outbox
):
    make.opco("akto")
    # IDCC 1486 (Syntec) belongs to ATLAS, which has not joined the platform.
    form = company_form(idcc="1486", ape="6202A")
    sign_up(client, "/inscription/entreprise", form)
    response = confirm(client, outbox, form["email"])
    company = db_session.scalar(select(Company))
    assert company.idcc == "1486" and company.opco_id is None
    page = visible_text(client.get(response.headers["Location"]))
    assert "relève d'ATLAS, qui n'est pas encore présent sur la plateforme" in page
    assert "Vous serez rattaché automatiquement dès son arrivée" in page
    assert "rattachée à" not in page


def test_company_without_agreement_states_its_opco_and_waits_for_the_operator(
    client, make, db_session, outbox
):
    make.opco("akto")
    refused = client.post("/inscription/entreprise", data=company_form(idcc="9999"))
    assert refused.status_code == 422
    assert "Aucun OPCO ne se déduit de l'IDCC 9999 : indiquez le vôtre dans la liste" in text(refused)

    form = company_form(idcc="9999", declared_opco="akto")
    sign_up(client, "/inscription/entreprise", form)
    response = confirm(client, outbox, form["email"])
    company = db_session.scalar(select(Company))
    assert company.idcc == "9999" and company.opco_id is None and company.declared_opco_code == "akto"
    page = visible_text(client.get(response.headers["Location"]))
    assert "Vous avez indiqué AKTO comme OPCO" in page
    assert "L'équipe de la plateforme doit le confirmer" in page


def _existing_siret(make):
    company = make.company(opco_code="akto")
    return {"siret": company.siret}


INVALID_COMPANY_INPUTS = [
    pytest.param(
        {"siret": "73282932000075"}, "Ce SIRET n'est pas valide (clé de contrôle incorrecte)", id="siret-luhn"
    ),
    pytest.param({"siret": "7328293200007"}, "Le SIRET doit comporter 14 chiffres.", id="siret-13-chiffres"),
    pytest.param(
        {"siret": "732829320000745"}, "Le SIRET doit comporter 14 chiffres.", id="siret-15-chiffres"
    ),
    pytest.param(
        {"siret": "7328293200007A"}, "Le SIRET ne doit contenir que des chiffres.", id="siret-lettre"
    ),
    pytest.param({"siret": ""}, "Ce champ est obligatoire.", id="siret-absent"),
    pytest.param({"ape": "81210"}, "Le code APE doit comporter 4 chiffres suivis d'une lettre", id="ape"),
    pytest.param(
        {"ape": "812Z"}, "Le code APE doit comporter 4 chiffres suivis d'une lettre", id="ape-court"
    ),
    pytest.param({"idcc": "30430"}, "L'IDCC doit comporter de 1 à 4 chiffres", id="idcc-long"),
    pytest.param({"idcc": "30A3"}, "L'IDCC doit comporter de 1 à 4 chiffres", id="idcc-lettre"),
    pytest.param({"idcc": "0000"}, "L'IDCC 0000 n'existe pas", id="idcc-zero"),
    pytest.param(
        {"idcc": "650"},
        "L'IDCC 0650 n'est plus en vigueur : il a été remplacé par l'IDCC 3248 "
        "(Métallurgie (convention collective nationale unique)) le 01/01/2024. Indiquez 3248.",
        id="idcc-0650",
    ),
    pytest.param(
        {"idcc": "1234"},
        "Aucun OPCO ne se déduit de l'IDCC 1234 : indiquez le vôtre",
        id="idcc-inconnu-sans-opco",
    ),
    pytest.param(
        {"idcc": "1234", "declared_opco": "xyz"}, "Choisissez votre OPCO parmi", id="opco-indique-inconnu"
    ),
    pytest.param(
        {"headcount": "-3"},
        "L'effectif doit être un nombre entier de salariés compris entre 1 et 1 000 000.",
        id="effectif-negatif",
    ),
    pytest.param(
        {"headcount": "0"}, "Une entreprise sans salarié ne relève pas d'un OPCO", id="effectif-zero"
    ),
    pytest.param({"siret": "00000000000000"}, "Le SIRET 000 000 000 00000 n'existe pas", id="siret-zeros"),
    pytest.param({"headcount": None}, "Indiquez l'effectif salarié (nombre entier).", id="effectif-absent"),
    pytest.param({"headcount": ""}, "Indiquez l'effectif salarié (nombre entier).", id="effectif-vide"),
    pytest.param(
        {"headcount": "2000000"},
        "L'effectif doit être un nombre entier de salariés compris entre 1 et 1 000 000.",
        id="effectif-trop-grand",
    ),
    pytest.param(
        {"password": "court-11car", "confirm": "court-11car"},
        "Le mot de passe doit comporter au moins 12 caractères.",
        id="mot-de-passe-court",
    ),
    pytest.param(
        {"password": "aaaaaaaaaaaaaa", "confirm": "aaaaaaaaaaaaaa"},
        "Ce mot de passe est trop simple",
        id="mot-de-passe-simple",
    ),
    pytest.param(
        {"confirm": "un-autre-mot-de-passe"},
        "Les deux mots de passe ne correspondent pas.",
        id="confirmation",
    ),
    pytest.param({"email": "pas-une-adresse"}, "adresse e-mail", id="email-invalide"),
    pytest.param(
        _existing_siret, "Cet établissement (SIRET) est déjà inscrit sur la plateforme", id="siret-deja-pris"
    ),
    pytest.param(
        {"postal_code": "75008", "region_code": "76"},
        "Le code postal 75008 se trouve dans la région Île-de-France, pas dans la région Occitanie",
        id="region-autre-que-celle-du-code-postal",
    ),
    pytest.param(
        {"postal_code": "98000", "region_code": ""},
        "Le code postal 98000 ne correspond à aucun département d'une région française.",
        id="code-postal-hors-region",
    ),
    pytest.param({"accept_terms": None}, "Vous devez accepter les conditions d'utilisation", id="conditions"),
    pytest.param(
        {"postal_code": "6900"}, "Le code postal doit comporter 5 chiffres.", id="code-postal-court"
    ),
    pytest.param(
        {"postal_code": "69OO3"}, "Le code postal doit comporter 5 chiffres.", id="code-postal-lettres"
    ),
    pytest.param({"name": ""}, "Ce champ est obligatoire.", id="raison-sociale"),
    pytest.param({"full_name": ""}, "Ce champ est obligatoire.", id="nom-absent"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID_COMPANY_INPUTS)
def test_company_signup_refuses_invalid_input_and_creates_nothing(client, make, overrides, message):
    make.opco("akto")
    if callable(overrides):
        overrides = overrides(make)
    before = snapshot()

    response = client.post("/inscription/entreprise", data=company_form(**overrides))

    assert response.status_code == 422
    assert message in text(response)
    assert "Le formulaire contient" in text(response)
    assert snapshot() == before
    # Not signed in either.
    assert client.get("/compte").status_code == 302


def test_company_signup_refused_keeps_what_was_typed(client, make):
    make.opco("akto")
    response = client.post("/inscription/entreprise", data=company_form(siret="73282932000075"))
    assert response.status_code == 422
    page = text(response)
    assert 'value="Propreté Lumière"' in page
    assert 'value="12 rue des Lilas"' in page
    assert PASSWORD not in page  # passwords are never sent back


@pytest.mark.parametrize("postal_code", ["690031", "ABCDE"])
def test_company_signup_refuses_malformed_postal_codes_in_french(client, make, postal_code):
    make.opco("akto")
    before = snapshot()
    response = client.post("/inscription/entreprise", data=company_form(postal_code=postal_code))
    assert response.status_code == 422
    page = visible_text(response)
    assert "Code postal : " in page  # the error summary names the field
    assert "characters" not in page and "Field" not in page  # no untranslated WTForms message
    assert snapshot() == before


@pytest.mark.parametrize("headcount", ["douze", "12,5"])
def test_company_signup_refuses_a_headcount_that_is_not_a_number_in_french(client, make, headcount):
    make.opco("akto")
    before = snapshot()
    response = client.post("/inscription/entreprise", data=company_form(headcount=headcount))
    assert response.status_code == 422
    page = visible_text(response)
    assert "Effectif salarié : L'effectif doit être un nombre entier de salariés" in page
    assert "Not a valid" not in page
    assert snapshot() == before


def test_company_signup_accepts_a_headcount_typed_with_a_thousands_separator(client, make, db_session):
    """People write « 1 200 »; services.identifiers.validate_headcount accepts it, the form should too."""
    make.opco("akto")
    response = client.post("/inscription/entreprise", data=company_form(headcount="1 200"))
    assert response.status_code == 303, visible_text(response)[:600]
    assert db_session.scalar(select(Company.headcount)) == 1200


@pytest.mark.parametrize(
    ("postal_code", "region_code", "expected"),
    [
        ("75008", "", "11"),
        ("75008", None, "11"),
        ("20000", "", "94"),
        ("97411", "", "04"),
        ("92081", "11", "11"),
        ("20200", "94", "94"),
    ],
)
def test_company_signup_derives_the_region_from_the_postal_code(
    client, make, db_session, postal_code, region_code, expected
):
    make.opco("akto")
    response = client.post(
        "/inscription/entreprise", data=company_form(postal_code=postal_code, region_code=region_code)
    )
    assert response.status_code == 303, visible_text(response)[:600]
    assert db_session.scalar(select(Company.region_code)) == expected


def test_provider_signup_refuses_a_region_other_than_the_postal_codes(client, make):
    before = snapshot()
    response = client.post(
        "/inscription/organisme", data=provider_form(postal_code="69002", region_code="93")
    )
    assert response.status_code == 422
    assert (
        "se trouve dans la région Auvergne-Rhône-Alpes, pas dans la région Provence-Alpes-Côte d'Azur"
        in text(response)
    )
    assert snapshot() == before


def test_company_signup_refuses_an_unknown_region_code_in_french(client, make):
    make.opco("akto")
    before = snapshot()
    response = client.post("/inscription/entreprise", data=company_form(region_code="99"))
    assert response.status_code == 422
    page = visible_text(response)
    assert "Région : N'est pas un choix valide." in page
    assert snapshot() == before


# --- Live check -----------------------------------------------------------------------------------


def test_live_check_confirms_siret_and_names_the_opco(client, make):
    make.opco("akto")
    response = client.get(
        "/inscription/verifier", query_string={"siret": "732 829 320 00074", "idcc": "3043"}
    )
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page  # a fragment for htmx
    assert "SIRET valide : 732 829 320 00074 (SIREN 732829320)." in page
    assert "IDCC 3043 (Entreprises de propreté et services associés), est rattachée à AKTO" in page


def test_live_check_says_which_reference_opco_when_it_is_not_on_the_platform(client, make):
    make.opco("akto")
    page = text(client.get("/inscription/verifier", query_string={"idcc": "1486"}))
    assert "relève d'ATLAS, qui n'est pas encore présent sur la plateforme" in page
    assert "SIRET" not in page


def test_live_check_shows_french_errors(client, make):
    make.opco("akto")
    response = client.get("/inscription/verifier", query_string={"siret": "73282932000075", "idcc": "30A3"})
    assert response.status_code == 200
    page = text(response)
    assert "Ce SIRET n'est pas valide (clé de contrôle incorrecte)" in page
    assert "L'IDCC doit comporter de 1 à 4 chiffres" in page
    assert "SIRET valide" not in page


def test_live_check_accepts_la_poste_establishments(client):
    # La Poste (SIREN 356000000): establishments do not follow Luhn; the sum of the digits is a multiple of 5.
    page = text(client.get("/inscription/verifier", query_string={"siret": "35600000049837"}))
    assert "SIRET valide" in page


def test_live_check_with_nothing_typed_is_empty(client):
    response = client.get("/inscription/verifier")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == ""


# --- Training organisation ------------------------------------------------------------------------


def test_provider_signup_creates_provider_admin_and_logs_in_once_confirmed(client, db_session, outbox):
    form = provider_form()
    sign_up(client, "/inscription/organisme", form)
    response = confirm(client, outbox, form["email"])
    assert response.headers["Location"] == "/of/formation-horizon/"
    provider = db_session.scalar(select(TrainingProvider))
    assert provider.name == "Formation Horizon"
    assert provider.nda == form["nda"]
    assert provider.vat_regime == "exonere"
    assert provider.qualiopi_category_list == ["actions_formation", "bilans_competences"]
    assert provider.qualiopi_expires_on == date.fromisoformat(form["qualiopi_expires_on"])
    user = db_session.scalar(select(User).where(User.email == form["email"]))
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.organisation_id == provider.id and membership.role == "admin"
    dashboard = client.get(response.headers["Location"])
    assert dashboard.status_code == 200
    assert "Formation Horizon" in visible_text(dashboard)


def _taken_nda(make):
    provider = make.provider()
    return {"nda": provider.nda}


def _taken_siret_by_company(make):
    return {"siret": make.company(opco_code="akto").siret}


TODAY = paris_today()
INVALID_PROVIDER_INPUTS = [
    pytest.param(
        {"nda": "1175004927"},
        "Le numéro de déclaration d'activité (NDA) doit comporter 11 chiffres.",
        id="nda-court",
    ),
    pytest.param({"nda": "11750049A75"}, "ne doit contenir que des chiffres", id="nda-lettre"),
    pytest.param(_taken_nda, "Ce numéro de déclaration d'activité est déjà utilisé", id="nda-deja-pris"),
    pytest.param(_taken_siret_by_company, "Cet établissement (SIRET) est déjà inscrit", id="siret-deja-pris"),
    pytest.param({"siret": "73282932000075"}, "Ce SIRET n'est pas valide", id="siret-luhn"),
    pytest.param(
        {
            "qualiopi_issued_on": (TODAY - timedelta(days=1000)).isoformat(),
            "qualiopi_expires_on": (TODAY - timedelta(days=10)).isoformat(),
        },
        "Ce certificat Qualiopi a expiré",
        id="qualiopi-expire",
    ),
    pytest.param(
        {
            "qualiopi_issued_on": (TODAY - timedelta(days=10)).isoformat(),
            "qualiopi_expires_on": (TODAY - timedelta(days=10) + timedelta(days=3 * 366)).isoformat(),
        },
        "Un certificat Qualiopi est valable 3 ans au plus",
        id="qualiopi-plus-de-3-ans",
    ),
    pytest.param(
        {"qualiopi_expires_on": (TODAY - timedelta(days=300)).isoformat()},
        "doit être postérieure à sa date de délivrance",
        id="qualiopi-expire-avant-delivrance",
    ),
    pytest.param(
        {"qualiopi_issued_on": (TODAY + timedelta(days=5)).isoformat()},
        "ne peut pas être dans le futur",
        id="qualiopi-delivre-demain",
    ),
    pytest.param(
        {"qualiopi_categories": None}, "Cochez au moins une catégorie", id="qualiopi-sans-categorie"
    ),
    pytest.param(
        {"qualiopi_issued_on": "31/02/2025"}, "Indiquez une date valide", id="qualiopi-date-invalide"
    ),
    pytest.param({"qualiopi_number": ""}, "Ce champ est obligatoire.", id="qualiopi-numero"),
    pytest.param({"vat_regime": ""}, "Choisissez votre régime de TVA.", id="tva"),
    pytest.param(
        {"region_code": "11"},
        "se trouve dans la région Auvergne-Rhône-Alpes, pas dans la région Île-de-France",
        id="region",
    ),
    pytest.param({"accept_terms": None}, "Vous devez accepter les conditions d'utilisation", id="conditions"),
    pytest.param({"postal_code": "6900"}, "Le code postal doit comporter 5 chiffres.", id="code-postal"),
    pytest.param({"password": "court", "confirm": "court"}, "au moins 12 caractères", id="mot-de-passe"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID_PROVIDER_INPUTS)
def test_provider_signup_refuses_invalid_input_and_creates_nothing(client, make, overrides, message):
    if callable(overrides):
        overrides = overrides(make)
    before = snapshot()

    response = client.post("/inscription/organisme", data=provider_form(**overrides))

    assert response.status_code == 422
    assert message in text(response)
    assert snapshot() == before
    assert client.get("/compte").status_code == 302


# --- A second organisation for someone already signed in ------------------------------------------


def test_signed_in_user_creates_a_second_organisation_and_sees_the_switcher(client, make, login, db_session):
    make.opco("akto")
    user = make.user(email="claire@exemple.fr", full_name="Claire Dupont")
    first = make.company(admin=user, name="Nettoyage Dupont", opco_code="akto")
    login(client, user)

    form_page = client.get("/inscription/organisme")
    assert form_page.status_code == 200
    assert "Vous créez cette organisation avec votre compte claire@exemple.fr" in visible_text(form_page)
    assert 'name="password"' not in form_page.get_data(as_text=True)

    account_fields = {"full_name", "email", "password", "confirm"}
    data = {k: v for k, v in provider_form(name="Dupont Formation").items() if k not in account_fields}
    before_users = count(User)
    response = client.post("/inscription/organisme", data=data)

    assert response.status_code == 303, visible_text(response)
    assert response.headers["Location"] == "/of/dupont-formation/"
    assert "Bienvenue ! Le compte de Dupont Formation est créé" in " ".join(flashes(client.get("/compte")))
    assert count(User) == before_users  # no new account
    provider = db_session.scalar(select(TrainingProvider))
    memberships = db_session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
    assert {(m.organisation_id, m.role) for m in memberships} == {(first.id, "admin"), (provider.id, "admin")}

    switcher = client.get("/espaces")
    assert switcher.status_code == 200
    page = visible_text(switcher)
    assert "Choisir un espace" in page
    assert "Dupont Formation — Organisme de formation" in page
    assert "Nettoyage Dupont — Entreprise adhérente" in page
    html_page = switcher.get_data(as_text=True)
    assert f'href="/entreprise/{first.slug}/"' in html_page
    assert f'href="/of/{provider.slug}/"' in html_page
    # The navigation offers the switcher to people with several organisations.
    assert "Changer d'espace" in visible_text(client.get(f"/of/{provider.slug}/"))


def test_signed_in_user_second_company_with_errors_creates_nothing(client, make, login):
    make.opco("akto")
    user = make.user()
    make.company(admin=user, opco_code="akto")
    login(client, user)
    before = snapshot()
    account_fields = {"full_name", "email", "password", "confirm"}
    data = {k: v for k, v in company_form(siret="123").items() if k not in account_fields}
    response = client.post("/inscription/entreprise", data=data)
    assert response.status_code == 422
    assert "Le SIRET doit comporter 14 chiffres." in text(response)
    assert snapshot() == before


def test_two_companies_with_the_same_name_get_distinct_addresses(client, make, db_session, outbox):
    make.opco("akto")
    make.company(name="Propreté Lumière", opco_code="akto")
    form = company_form()
    sign_up(client, "/inscription/entreprise", form)
    assert confirm(client, outbox, form["email"]).headers["Location"] == "/entreprise/proprete-lumiere-2/"


def test_signup_choice_page_lists_both_paths(client):
    page = visible_text(client.get("/inscription"))
    assert "Inscrire mon entreprise" in page and "Inscrire mon organisme" in page


# --- An address that already has an account; confirming the address ------------------------------


def test_signup_with_an_existing_address_says_the_same_and_emails_its_owner(client, make, outbox):
    """The page never reveals that an address has an account: the owner is told by email instead."""
    make.opco("akto")
    owner = make.user(email="deja@exemple.fr")
    before = snapshot()

    response = sign_up(client, "/inscription/entreprise", company_form(email="Deja@Exemple.fr"))
    assert SENT.format(email="deja@exemple.fr") in flashes(client.get(response.headers["Location"]))
    assert snapshot() == before  # nothing created
    assert client.get("/compte").status_code == 302
    mails = outbox(owner.email)
    assert [m.template for m in mails] == ["signup_existing_account"]
    assert "Vous avez déjà un compte : rien n'a été créé." in mails[0].body_text
    assert "/confirmer/" not in mails[0].body_text


def test_an_unconfirmed_account_sees_only_the_confirmation_page_and_can_ask_again(client, outbox, db_session):
    form = company_form()
    sign_up(client, "/inscription/entreprise", form)
    signed_in = client.post("/connexion", data={"email": form["email"], "password": PASSWORD})
    assert signed_in.status_code == 303
    dashboard = client.get(signed_in.headers["Location"])
    assert dashboard.status_code == 403
    page = visible_text(dashboard)
    assert "Confirmez votre adresse électronique" in page
    assert "Renvoyer le courriel de confirmation" in page
    assert "tableau de bord" not in page
    company = db_session.scalar(select(Company))
    assert client.get(f"/entreprise/{company.slug}/salaries").status_code == 403

    resent = client.post("/confirmation/renvoyer")
    assert resent.status_code == 303 and resent.headers["Location"] == "/confirmation"
    assert f"Un nouveau courriel de confirmation a été envoyé à {form['email']}." in flashes(
        client.get("/confirmation")
    )
    links = [m for m in outbox(form["email"]) if m.template == "email_confirmation"]
    assert len(links) == 2

    token = token_from(links[-1].body_text, "confirmer")
    assert client.post(f"/confirmer/{token}").status_code == 303
    assert client.get(signed_in.headers["Location"]).status_code == 200
    # Used once: the link no longer works.
    again = client.get(f"/confirmer/{token}")
    assert again.status_code == 302
    assert any("déjà confirmée" in m for m in flashes(client.get(again.headers["Location"])))


def test_a_tampered_confirmation_link_is_refused(client, outbox, db_session):
    form = company_form()
    sign_up(client, "/inscription/entreprise", form)
    token = token_from(outbox(form["email"])[0].body_text, "confirmer")
    response = client.post(f"/confirmer/{token[:-2]}xx")
    assert response.status_code == 303
    assert any("Ce lien de confirmation n'est pas valide." in m for m in flashes(client.get("/connexion")))
    assert db_session.scalar(select(User.email_confirmed_at)) is None


def test_accepting_an_emailed_invitation_confirms_the_address(client, make, outbox, db_session):
    """The invitation link was emailed to that address: following it proves the address too."""
    form = company_form()
    sign_up(client, "/inscription/entreprise", form)
    assert client.post("/connexion", data={"email": form["email"], "password": PASSWORD}).status_code == 303
    other = make.company(opco_code="akto", name="Autre Entreprise")
    _invitation, token = make.invitation(other, form["email"], "viewer")

    accepted = client.post(f"/invitation/{token}")
    assert accepted.status_code == 303 and accepted.headers["Location"] == f"/entreprise/{other.slug}/"
    assert db_session.scalar(select(User.email_confirmed_at).where(User.email == form["email"])) is not None
    assert client.get(accepted.headers["Location"]).status_code == 200


def test_accounts_made_by_invitation_operator_command_and_demo_paths_are_confirmed(make):
    """Only the self-service sign-up starts unconfirmed (the factories go through services.accounts)."""
    assert make.user().email_confirmed_at is not None
    assert make.operator().email_confirmed_at is not None


def test_signup_hashes_the_password_whether_or_not_the_address_has_an_account(client, make, monkeypatch):
    """The costly step (scrypt) runs on both paths, so the answer's timing does not tell them apart."""
    from marketplace.models import user as user_model
    from marketplace.services import authentication

    make.opco("akto")
    make.user(email="deja@exemple.fr")
    hashed: list[str] = []
    for module in (user_model, authentication):
        real = module.generate_password_hash
        monkeypatch.setattr(
            module,
            "generate_password_hash",
            lambda password, method, _real=real: hashed.append(password) or _real(password, method=method),
        )

    sign_up(
        client,
        "/inscription/entreprise",
        company_form(email="deja@exemple.fr", password="secret-existant-1", confirm="secret-existant-1"),
    )
    sign_up(
        client,
        "/inscription/entreprise",
        company_form(email="nouvelle@exemple.fr", password="secret-nouveau-22", confirm="secret-nouveau-22"),
    )
    assert hashed == ["secret-existant-1", "secret-nouveau-22"]
