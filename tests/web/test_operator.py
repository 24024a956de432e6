"""The platform operator's area: OPCOs from the reference list, their branches and first admin, the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.models import AuditEvent, Company, IdccBranch, Invitation, Membership, Opco, User
from tests.web.inputs_expect import assert_refused_or
from tests.web.pages import flashes, text, token_from, visible_text

NEW_PASSWORD = "mot-de-passe-opco-2026"


@pytest.fixture
def operator(client, make, login):
    user = make.operator(email="operateur@plateforme.fr")
    login(client, user)
    return user


def atlas_reference_idcc(db_session) -> list[str]:
    return sorted(db_session.scalars(select(IdccBranch.idcc).where(IdccBranch.opco_code == "atlas")))


def test_operator_lands_on_the_operator_area(client, make, login):
    user = make.operator()
    response = login(client, user)
    assert response.headers["Location"] == "/operateur/"
    page = visible_text(client.get("/operateur/"))
    assert "Espace opérateur de la plateforme" in page
    assert "Ouvrir l'espace d'un OPCO" in page


def test_operator_creates_an_opco_from_the_reference_list(client, operator, db_session):
    expected = atlas_reference_idcc(db_session)
    assert "1486" in expected

    response = client.post("/operateur/opco", data={"code": "atlas"})

    assert response.status_code == 303
    atlas = db_session.scalar(select(Opco).where(Opco.code == "atlas"))
    assert atlas is not None and atlas.name == "ATLAS" and atlas.slug == "atlas"
    assert response.headers["Location"] == f"/operateur/opco/{atlas.id}/branches"
    assert atlas.idcc_codes == expected
    page = client.get(response.headers["Location"])
    assert f"ATLAS est créé avec {len(expected)} branches." in " ".join(flashes(page))
    assert "ATLAS : branches couvertes" in visible_text(page)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "opco.created"))
    assert event.organisation_id == atlas.id and event.actor_id == operator.id

    # Listed on the operator dashboard, and no longer offered for creation.
    dashboard = client.get("/operateur/")
    assert "ATLAS OPCO" in visible_text(dashboard)
    assert '<option value="atlas">' not in dashboard.get_data(as_text=True)


def test_creating_the_same_opco_twice_is_refused_in_french(client, operator, db_session):
    client.post("/operateur/opco", data={"code": "atlas"})
    response = client.post("/operateur/opco", data={"code": "atlas"})

    assert response.status_code == 422
    assert "Espace opérateur de la plateforme" in visible_text(response)  # the page again, with the reason
    messages = text(response)
    assert "Ouvrir l'espace d'un OPCO" in messages
    assert "Not a valid" not in messages
    assert len(db_session.scalars(select(Opco).where(Opco.code == "atlas")).all()) == 1


def test_creating_the_same_opco_twice_says_it_already_exists(client, operator):
    """The refusal should say why (« ATLAS est déjà présent sur la plateforme. »), not a generic choice error."""
    client.post("/operateur/opco", data={"code": "atlas"})
    response = client.post("/operateur/opco", data={"code": "atlas"})
    assert response.status_code == 422
    assert "ATLAS est déjà présent sur la plateforme." in text(response)


def test_unknown_opco_code_is_refused(client, operator, db_session):
    response = client.post("/operateur/opco", data={"code": "inconnu"})
    assert response.status_code == 422
    assert "Cet OPCO ne fait pas partie de la liste de référence des 11 OPCO." in text(response)
    assert db_session.scalar(select(Opco)) is None


def test_company_that_signed_up_before_its_opco_is_attached_when_the_opco_is_created(
    app, client, operator, make, login, db_session
):
    boss = make.user(full_name="Paul Conseil")
    company = make.company(admin=boss, name="Conseil Syntec", idcc="1486", opco_code=None)
    assert company.opco_id is None

    client.post("/operateur/opco", data={"code": "atlas"})

    atlas = db_session.scalar(select(Opco).where(Opco.code == "atlas"))
    assert db_session.get(Company, company.id).opco_id == atlas.id
    assert db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "company.opco_attached", AuditEvent.organisation_id == company.id
        )
    )
    theirs = app.test_client()
    login(theirs, boss)
    page = visible_text(theirs.get(f"/entreprise/{company.slug}/"))
    assert "Votre entreprise est rattachée à ATLAS" in page


def test_operator_edits_the_branches(client, operator, make, db_session):
    atlas = make.opco("atlas")
    page = client.get(f"/operateur/opco/{atlas.id}/branches")
    assert page.status_code == 200
    assert 'value="1486" checked' in page.get_data(as_text=True)

    response = client.post(f"/operateur/opco/{atlas.id}/branches", data={"idcc": ["1486", "0787"]})
    assert response.status_code == 303
    assert "Branches d'ATLAS enregistrées." in flashes(client.get(response.headers["Location"]))
    assert db_session.get(Opco, atlas.id).idcc_codes == ["0787", "1486"]
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "opco.branches_changed"))
    assert event.data == {"idcc": ["0787", "1486"]}


def test_a_branch_covered_by_another_opco_cannot_be_added(client, operator, make, db_session):
    make.opco("akto")
    atlas = make.opco("atlas")
    before = db_session.get(Opco, atlas.id).idcc_codes
    response = client.post(f"/operateur/opco/{atlas.id}/branches", data={"idcc": ["1486", "3043"]})
    assert response.status_code == 422
    page = text(response)
    assert "L'IDCC 3043 est déjà couvert par AKTO." in page
    assert db_session.get(Opco, atlas.id).idcc_codes == before
    assert "(déjà couverte par AKTO)" in visible_text(response)


def test_adding_a_branch_attaches_the_waiting_companies(client, operator, make, db_session):
    atlas = make.opco("atlas", idcc_codes=["0787"])
    company = make.company(idcc="1486", opco_code=None)
    assert company.opco_id is None
    client.post(f"/operateur/opco/{atlas.id}/branches", data={"idcc": ["0787", "1486"]})
    assert db_session.get(Company, company.id).opco_id == atlas.id


def test_removing_a_branch_detaches_its_companies(client, operator, make, db_session):
    """A company's OPCO follows its IDCC: once the OPCO no longer covers it, the company is not attached to it."""
    atlas = make.opco("atlas")
    company = make.company(idcc="1486", opco_code="atlas")
    assert company.opco_id == atlas.id

    client.post(f"/operateur/opco/{atlas.id}/branches", data={"idcc": ["0787"]})

    assert db_session.get(Opco, atlas.id).idcc_codes == ["0787"]
    assert db_session.get(Company, company.id).opco_id is None


def test_moving_a_branch_to_another_opco_moves_its_companies(client, operator, make, db_session):
    akto = make.opco("akto")
    atlas = make.opco("atlas")
    company = make.company(idcc="3043", opco_code="akto")
    assert company.opco_id == akto.id

    remaining = [code for code in db_session.get(Opco, akto.id).idcc_codes if code != "3043"]
    client.post(f"/operateur/opco/{akto.id}/branches", data={"idcc": remaining})
    client.post(
        f"/operateur/opco/{atlas.id}/branches",
        data={"idcc": [*db_session.get(Opco, atlas.id).idcc_codes, "3043"]},
    )

    assert "3043" in db_session.get(Opco, atlas.id).idcc_codes
    assert db_session.get(Company, company.id).opco_id == atlas.id


def test_operator_invites_the_opco_first_admin(app, client, operator, make, outbox, db_session):
    atlas = make.opco("atlas")
    response = client.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": "Directrice@Atlas.fr"})

    assert response.status_code == 303
    assert "Invitation d'administrateur envoyée à directrice@atlas.fr." in flashes(
        client.get(response.headers["Location"])
    )
    invitation = db_session.scalar(select(Invitation))
    assert (invitation.organisation_id, invitation.role, invitation.email) == (
        atlas.id,
        "admin",
        "directrice@atlas.fr",
    )
    [mail] = outbox("directrice@atlas.fr")
    assert "rejoindre ATLAS (OPCO) avec le rôle « Administrateur »" in mail.body_text
    token = token_from(mail.body_text, "invitation")

    newcomer = app.test_client()
    accepted = newcomer.post(
        f"/invitation/{token}",
        data={"full_name": "Sophie Directrice", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == f"/opco/{atlas.slug}/"
    user = db_session.scalar(select(User).where(User.email == "directrice@atlas.fr"))
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert (membership.organisation_id, membership.role) == (atlas.id, "admin")
    dashboard = newcomer.get(accepted.headers["Location"])
    assert dashboard.status_code == 200
    assert "ATLAS — tableau de bord" in visible_text(dashboard)
    assert newcomer.get(f"/org/{atlas.slug}/membres").status_code == 200


def test_operator_invitation_with_a_bad_email_is_refused(client, operator, make, outbox):
    atlas = make.opco("atlas")
    response = client.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": "pas-une-adresse"})
    assert response.status_code == 422
    assert "ATLAS : branches couvertes" in visible_text(response)
    assert "Saisissez une adresse e-mail valide" in " ".join(flashes(response))
    assert outbox() == []


def test_non_operator_gets_403_on_the_operator_area(client, make, login):
    user = make.user()
    make.company(admin=user, opco_code="akto")
    login(client, user)
    for url in ("/operateur/", "/operateur/courriels"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Accès refusé" in visible_text(response)
    assert client.post("/operateur/opco", data={"code": "atlas"}).status_code == 403


def test_signed_out_visitor_is_sent_to_login(client):
    response = client.get("/operateur/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_outbox_page_lists_messages(client, operator, make, outbox):
    atlas = make.opco("atlas")
    client.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": "directrice@atlas.fr"})
    [mail] = outbox("directrice@atlas.fr")

    response = client.get("/operateur/courriels")
    assert response.status_code == 200
    page = visible_text(response)
    assert "Boîte d'envoi des courriels" in page
    assert "directrice@atlas.fr" in page
    assert "Invitation à rejoindre ATLAS sur la plateforme des actions collectives" in page
    assert "Conservé (SMTP non configuré)" in page

    detail = client.get(f"/operateur/courriels/{mail.id}")
    assert detail.status_code == 200
    assert "/invitation/" in visible_text(detail)


def test_outbox_page_empty_state(client, operator):
    assert "Aucun courriel pour l'instant." in visible_text(client.get("/operateur/courriels"))


# Control characters (400) and the 1 MB body (413) are refused before any page: tests/web/inputs_expect.py.
ABSURD = [
    "",
    "\x00",
    "atlas\x00",
    "atlas\n",
    "x" * 1_000_000,
    "x" * 1000,
    "99999999999999999999",
    "-5",
    "<script>",
]


def test_absurd_operator_inputs_are_refused_and_change_nothing(client, operator, make, outbox, db_session):
    atlas = make.opco("atlas")
    before = db_session.get(Opco, atlas.id).idcc_codes
    for value in ABSURD:
        created = client.post("/operateur/opco", data={"code": value})
        if assert_refused_or(created, 422, value):
            reasons = (
                "Choisissez un OPCO dans la liste.",
                "Cet OPCO ne fait pas partie de la liste de référence",
            )
            assert any(reason in text(created) for reason in reasons), value[:30]
        branches = client.post(f"/operateur/opco/{atlas.id}/branches", data={"idcc": ["1486", value]})
        assert_refused_or(branches, 422, value)
        assert_refused_or(
            client.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": value}), 422, value
        )
    assert db_session.scalars(select(Opco.code)).all() == ["atlas"]
    assert db_session.get(Opco, atlas.id, populate_existing=True).idcc_codes == before
    assert db_session.scalar(select(Invitation)) is None and outbox() == []


def test_absurd_outbox_pages_answer(client, operator):
    for page in ["-5", "0", "99999999999999999999", "\x00", "1e9", "x" * 1000, "x" * 10_000]:
        response = client.get("/operateur/courriels", query_string={"page": page})
        if assert_refused_or(response, 200, page, sent_as="query"):
            assert "Aucun courriel pour l'instant." in visible_text(response)
    for url in (
        "/operateur/courriels/99999999999999999999",
        "/operateur/courriels/2147483647",
        "/operateur/opco/2147483648/branches",
        "/operateur/opco/-1/branches",
    ):
        assert client.get(url).status_code == 404


def test_outbox_is_paginated_by_fifty(client, operator, db_session):
    from marketplace.models import OutboxMessage, OutboxStatus

    for n in range(55):
        db_session.add(
            OutboxMessage(
                recipient=f"p{n:02d}@exemple.fr",
                subject=f"Objet {n:02d}",
                body_text="x\n",
                template="password_reset",
                status=OutboxStatus.HELD,
            )
        )
    db_session.commit()
    first = visible_text(client.get("/operateur/courriels"))
    assert "Page 1 sur 2" in first and "p54@exemple.fr" in first and "p04@exemple.fr" not in first
    last = visible_text(client.get("/operateur/courriels", query_string={"page": "999"}))
    assert "Page 2 sur 2" in last and "p00@exemple.fr" in last and "p54@exemple.fr" not in last
