"""Members of an organisation: invitations, accepting them, roles, the last-administrator rule, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Invitation, Membership, Organisation, User
from marketplace.services import audit
from tests.factories import DEFAULT_PASSWORD
from tests.web.inputs_expect import assert_refused_or
from tests.web.pages import count, flashes, text, token_from, visible_text

NEW_PASSWORD = "mot-de-passe-du-collegue"


@pytest.fixture
def company_admin(make):
    admin = make.user(email="admin@lumiere.fr", full_name="Alice Admin")
    company = make.company(admin=admin, name="Lumière Services", opco_code="akto")
    return company, admin


@pytest.fixture
def signed_in_admin(client, login, company_admin):
    company, admin = company_admin
    login(client, admin)
    return company, admin


def invite(client, company, email, role="hr", htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/org/{company.slug}/membres/inviter", data={"email": email, "role": role}, headers=headers
    )


def membership_of(email, org):
    return db.session.scalar(
        select(Membership).join(User).where(User.email == email, Membership.organisation_id == org.id)
    )


def events(action, org=None):
    query = select(AuditEvent).where(AuditEvent.action == action)
    if org is not None:
        query = query.where(AuditEvent.organisation_id == org.id)
    return db.session.scalars(query.order_by(AuditEvent.id)).all()


# --- Inviting ---------------------------------------------------------------------------------------


def test_members_page_lists_members_and_roles(client, signed_in_admin, make):
    company, admin = signed_in_admin
    make.member(company, make.user(email="compta@lumiere.fr", full_name="Bruno Compta"), "accountant")
    response = client.get(f"/org/{company.slug}/membres")
    assert response.status_code == 200
    page = visible_text(response)
    assert "Membres de Lumière Services" in page
    assert "Personnes ayant accès (2)" in page
    assert "Alice Admin (vous)" in page
    assert "Bruno Compta compta@lumiere.fr Comptable" in page
    assert "Aucune invitation en attente." in page


def test_admin_invites_a_colleague_by_email(client, signed_in_admin, outbox, db_session):
    company, admin = signed_in_admin
    response = invite(client, company, "Nadia.Hr@Lumiere.fr", "hr")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/org/{company.slug}/membres"
    page = client.get(response.headers["Location"])
    assert "Invitation envoyée à nadia.hr@lumiere.fr." in flashes(page)
    assert "nadia.hr@lumiere.fr Responsable formation" in visible_text(page)

    invitation = db_session.scalar(select(Invitation))
    assert (invitation.email, invitation.role, invitation.organisation_id) == (
        "nadia.hr@lumiere.fr",
        "hr",
        company.id,
    )
    assert invitation.invited_by_id == admin.id
    assert invitation.accepted_at is None and invitation.revoked_at is None

    messages = outbox("nadia.hr@lumiere.fr")
    assert len(messages) == 1
    mail = messages[0]
    assert mail.template == "invitation"
    assert mail.subject == "Invitation à rejoindre Lumière Services sur la plateforme des actions collectives"
    assert "Alice Admin vous invite à rejoindre Lumière Services" in mail.body_text
    assert "« Responsable formation »" in mail.body_text
    token = token_from(mail.body_text, "invitation")
    assert f"http://localhost/invitation/{token}" in mail.body_text
    assert token not in invitation.token_hash  # only the hash is stored

    [event] = events("member.invited", company)
    assert event.actor_id == admin.id
    assert event.data == {"email": "nadia.hr@lumiere.fr", "role": "hr"}


def test_htmx_invitation_returns_the_fragment_with_the_pending_invitation(client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    response = invite(client, company, "paul@lumiere.fr", "accountant", htmx=True)

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<body" not in body
    page = visible_text(response)
    assert "Invitation envoyée à paul@lumiere.fr." in page
    assert "Invitations en attente" in page
    assert "paul@lumiere.fr Comptable" in page
    assert 'hx-post="/org/' in body  # the form is back, ready for the next invitation
    assert len(outbox("paul@lumiere.fr")) == 1
    assert "HX-Request" in response.headers.get("Vary", "")


def test_htmx_invitation_empties_the_form_after_success(client, signed_in_admin):
    """After an inline invitation the email field is empty again, ready for the next colleague.

    Otherwise a second click re-invites the same person (replacing the invitation just sent).
    """
    company, _admin = signed_in_admin
    response = invite(client, company, "paul@lumiere.fr", "accountant", htmx=True)
    assert response.status_code == 200
    form = response.get_data(as_text=True).split("<form", 1)[1].split("</form>", 1)[0]
    assert 'value="paul@lumiere.fr"' not in form


def test_htmx_invitation_error_returns_the_fragment_with_the_french_message(client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    response = invite(client, company, "pas-une-adresse", "hr", htmx=True)
    assert response.status_code == 422
    assert "<html" not in response.get_data(as_text=True)
    assert "Saisissez une adresse e-mail valide" in text(response)
    assert count(Invitation) == 0 and outbox() == []


def test_invitation_with_an_unknown_role_is_refused(client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    response = invite(client, company, "x@lumiere.fr", "catalogue_manager")  # an OPCO role
    assert response.status_code == 422
    assert "Choisissez un rôle dans la liste." in text(response) or "N'est pas un choix valide." in text(
        response
    )
    assert count(Invitation) == 0 and outbox() == []


def test_inviting_an_existing_member_is_refused(client, signed_in_admin, make, outbox):
    company, _admin = signed_in_admin
    make.member(company, make.user(email="deja@lumiere.fr"), "viewer")
    response = invite(client, company, "Deja@Lumiere.fr", "hr")
    assert response.status_code == 422
    assert "deja@lumiere.fr est déjà membre de Lumière Services." in text(response)
    assert count(Invitation) == 0 and outbox() == []
    assert not events("member.invited", company)


def test_inviting_the_same_address_again_replaces_the_pending_invitation(
    client, signed_in_admin, outbox, db_session
):
    company, _admin = signed_in_admin
    invite(client, company, "zoe@lumiere.fr", "hr")
    first_token = token_from(outbox("zoe@lumiere.fr")[0].body_text, "invitation")
    invite(client, company, "zoe@lumiere.fr", "viewer")
    second_token = token_from(outbox("zoe@lumiere.fr")[1].body_text, "invitation")

    old = client.get(f"/invitation/{first_token}")
    assert old.status_code == 410
    assert "Cette invitation a été annulée par l'organisation." in visible_text(old)
    assert client.get(f"/invitation/{second_token}").status_code == 200
    assert "zoe@lumiere.fr" in visible_text(client.get(f"/org/{company.slug}/membres"))


# --- Accepting ------------------------------------------------------------------------------------


def _invite_and_get_token(client, company, outbox, email="nadia@lumiere.fr", role="hr"):
    invite(client, company, email, role)
    return token_from(outbox(email)[-1].body_text, "invitation")


def test_new_person_accepts_the_invitation_and_is_signed_in(app, client, signed_in_admin, outbox, db_session):
    company, admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    guest = app.test_client()

    page = guest.get(f"/invitation/{token}")
    assert page.status_code == 200
    seen = visible_text(page)
    assert "Rejoindre Lumière Services" in seen
    assert "Alice Admin vous invite à rejoindre Lumière Services (Entreprise adhérente)" in seen
    assert "avec l'adresse nadia@lumiere.fr" in seen
    assert "Créez votre compte pour accepter l'invitation." in seen

    response = guest.post(
        f"/invitation/{token}",
        data={"full_name": "Nadia Benali", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/entreprise/{company.slug}/"
    user = db_session.scalar(select(User).where(User.email == "nadia@lumiere.fr"))
    assert user.full_name == "Nadia Benali" and user.check_password(NEW_PASSWORD)
    membership = membership_of("nadia@lumiere.fr", company)
    assert membership.role == "hr"
    assert db_session.scalar(select(Invitation)).accepted_at is not None
    assert events("member.joined", company)[0].actor_id == user.id

    dashboard = guest.get(response.headers["Location"])
    assert dashboard.status_code == 200
    assert "Vous avez rejoint Lumière Services." in flashes(dashboard)
    # An 'hr' member sees no Membres link and cannot open the page.
    assert "Membres" not in visible_text(dashboard).split("Prochaines étapes")[0]
    assert guest.get(f"/org/{company.slug}/membres").status_code == 403


def test_accepting_with_bad_input_creates_nothing(app, client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    guest = app.test_client()
    before = (count(User), count(Membership))
    for data, message in [
        ({"full_name": "Nadia", "password": "court", "confirm": "court"}, "au moins 12 caractères"),
        (
            {"full_name": "Nadia", "password": NEW_PASSWORD, "confirm": "autre"},
            "Les deux mots de passe ne correspondent pas.",
        ),
        ({"full_name": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "Indiquez vos prénom et nom."),
    ]:
        response = guest.post(f"/invitation/{token}", data=data)
        assert response.status_code == 422
        assert message in text(response)
    assert (count(User), count(Membership)) == before
    assert guest.get(f"/invitation/{token}").status_code == 200  # still usable


def test_expired_invitation_is_refused_and_creates_nothing(app, client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    guest = app.test_client()
    before = (count(User), count(Membership))

    with time_machine.travel(datetime.now(UTC) + timedelta(days=8), tick=False):
        page = guest.get(f"/invitation/{token}")
        assert page.status_code == 410
        assert "Cette invitation a expiré. Demandez à l'administrateur de Lumière Services" in visible_text(
            page
        )
        response = guest.post(
            f"/invitation/{token}",
            data={"full_name": "Nadia Benali", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert response.status_code == 410
        assert "Cette invitation a expiré" in visible_text(response)
    assert (count(User), count(Membership)) == before
    assert guest.get("/compte").status_code == 302


def test_invitation_still_valid_after_six_days(app, client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=6), tick=False):
        assert app.test_client().get(f"/invitation/{token}").status_code == 200


def test_accepted_invitation_cannot_be_used_again(app, client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    app.test_client().post(
        f"/invitation/{token}",
        data={"full_name": "Nadia Benali", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    other = app.test_client()
    page = other.get(f"/invitation/{token}")
    assert page.status_code == 410
    assert "Cette invitation a déjà été acceptée." in visible_text(page)
    response = other.post(
        f"/invitation/{token}",
        data={
            "full_name": "Quelqu'un",
            "password": "encore-un-mot-de-passe",
            "confirm": "encore-un-mot-de-passe",
        },
    )
    assert response.status_code == 410
    assert count(Membership) == 2


def test_revoked_invitation_is_refused(app, client, signed_in_admin, outbox, db_session):
    company, admin = signed_in_admin
    token = _invite_and_get_token(client, company, outbox)
    invitation = db_session.scalar(select(Invitation))

    response = client.post(f"/org/{company.slug}/invitations/{invitation.id}/annuler")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert "L'invitation de nadia@lumiere.fr est annulée." in flashes(page)
    assert "Aucune invitation en attente." in visible_text(page)
    assert events("member.invitation_revoked", company)[0].actor_id == admin.id

    guest = app.test_client()
    refused = guest.get(f"/invitation/{token}")
    assert refused.status_code == 410
    assert "Cette invitation a été annulée par l'organisation." in visible_text(refused)
    before = count(User)
    guest.post(
        f"/invitation/{token}", data={"full_name": "Nadia", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert count(User) == before

    again = client.post(f"/org/{company.slug}/invitations/{invitation.id}/annuler")
    assert again.status_code == 422
    assert "Cette invitation n'est plus en attente." in flashes(again)


def test_unknown_invitation_link(client):
    page = client.get("/invitation/nimporte-quoi")
    assert page.status_code == 410
    assert "Ce lien d'invitation n'est pas valide." in visible_text(page)


def test_existing_user_must_sign_in_with_the_invited_email(
    app, client, signed_in_admin, make, outbox, login, db_session
):
    company, _admin = signed_in_admin
    existing = make.user(email="marc@ailleurs.fr", full_name="Marc Ailleurs")
    make.company(admin=existing, name="Ailleurs SARL", opco_code="akto")
    token = _invite_and_get_token(client, company, outbox, email="marc@ailleurs.fr", role="viewer")

    guest = app.test_client()
    page = guest.get(f"/invitation/{token}")
    assert page.status_code == 200
    assert "Un compte existe déjà pour marc@ailleurs.fr." in visible_text(page)
    assert 'name="password"' not in page.get_data(as_text=True)

    # Posting without being signed in sends to the sign-in page, back to the invitation afterwards.
    response = guest.post(
        f"/invitation/{token}",
        data={"full_name": "Intrus", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/connexion?next=/invitation/{token}"
    assert membership_of("marc@ailleurs.fr", company) is None
    assert db_session.get(User, existing.id).check_password(DEFAULT_PASSWORD)  # the account is untouched

    # Someone else signed in cannot accept it.
    someone = make.user(email="autre@ailleurs.fr")
    wrong = app.test_client()
    login(wrong, someone)
    refused = wrong.post(f"/invitation/{token}")
    assert "Cette invitation a été envoyée à marc@ailleurs.fr." in text(refused)
    assert membership_of("autre@ailleurs.fr", company) is None

    signed_in = guest.post(
        f"/connexion?next=/invitation/{token}", data={"email": existing.email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.headers["Location"] == f"/invitation/{token}"
    assert "Vous êtes connecté avec ce compte." in visible_text(guest.get(f"/invitation/{token}"))
    accepted = guest.post(f"/invitation/{token}")
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == f"/entreprise/{company.slug}/"
    assert membership_of("marc@ailleurs.fr", company).role == "viewer"
    assert count(User) == 3  # admin, Marc, someone: nobody new


# --- Roles and removal ----------------------------------------------------------------------------


def test_admin_changes_a_role(client, signed_in_admin, make, db_session):
    company, admin = signed_in_admin
    colleague = make.member(company, make.user(email="hugo@lumiere.fr", full_name="Hugo Martin"), "viewer")

    response = client.post(f"/org/{company.slug}/membres/{colleague.id}/role", data={"role": "accountant"})
    assert response.status_code == 303
    assert "Hugo Martin a désormais le rôle « Comptable »." in flashes(
        client.get(response.headers["Location"])
    )
    assert db_session.get(Membership, colleague.id).role == "accountant"
    [event] = events("member.role_changed", company)
    assert event.actor_id == admin.id
    assert event.data == {"email": "hugo@lumiere.fr", "from": "viewer", "to": "accountant"}


def test_role_change_to_an_unknown_role_is_refused(client, signed_in_admin, make, db_session):
    company, _admin = signed_in_admin
    colleague = make.member(company, make.user(), "viewer")
    response = client.post(f"/org/{company.slug}/membres/{colleague.id}/role", data={"role": "evaluator"})
    assert response.status_code == 422
    assert "Choisissez un rôle dans la liste." in flashes(response)
    assert db_session.get(Membership, colleague.id).role == "viewer"


def test_last_administrator_cannot_be_demoted(client, signed_in_admin, make, db_session):
    company, admin = signed_in_admin
    make.member(company, make.user(), "hr")
    own = membership_of(admin.email, company)

    page = client.post(f"/org/{company.slug}/membres/{own.id}/role", data={"role": "viewer"})
    assert page.status_code == 422
    assert "Membres de Lumière Services" in visible_text(page)  # the page again, with the reason
    assert "Impossible : c'est le dernier administrateur. Nommez d'abord un autre administrateur." in flashes(
        page
    )
    assert db_session.get(Membership, own.id).role == "admin"
    assert not events("member.role_changed", company)


def test_last_administrator_cannot_be_removed(client, signed_in_admin, make, db_session):
    company, admin = signed_in_admin
    make.member(company, make.user(), "hr")
    own = membership_of(admin.email, company)

    response = client.post(f"/org/{company.slug}/membres/{own.id}/retirer")
    assert response.status_code == 422
    assert "Impossible : c'est le dernier administrateur." in " ".join(flashes(response))
    assert db_session.get(Membership, own.id) is not None
    assert not events("member.removed", company)


def test_with_two_administrators_one_can_be_removed_then_the_other_is_the_last(
    client, signed_in_admin, make, db_session
):
    company, admin = signed_in_admin
    second_id = make.member(company, make.user(email="bis@lumiere.fr", full_name="Bernard Bis"), "admin").id

    response = client.post(f"/org/{company.slug}/membres/{second_id}/retirer")
    assert response.status_code == 303
    assert "Bernard Bis n'a plus accès à Lumière Services." in flashes(
        client.get(response.headers["Location"])
    )
    assert db_session.get(Membership, second_id) is None
    assert (
        db_session.scalar(select(User).where(User.email == "bis@lumiere.fr")) is not None
    )  # the person stays
    [event] = events("member.removed", company)
    assert event.data == {"email": "bis@lumiere.fr", "role": "admin"}

    own = membership_of(admin.email, company)
    client.post(f"/org/{company.slug}/membres/{own.id}/role", data={"role": "viewer"})
    assert db_session.get(Membership, own.id).role == "admin"


def test_with_two_administrators_one_can_step_down(client, signed_in_admin, make, db_session):
    company, admin = signed_in_admin
    make.member(company, make.user(), "admin")
    own = membership_of(admin.email, company)
    response = client.post(f"/org/{company.slug}/membres/{own.id}/role", data={"role": "hr"})
    assert response.status_code == 303
    assert db_session.get(Membership, own.id).role == "hr"
    # Without manage_members the members page is now closed to them.
    assert client.get(response.headers["Location"]).status_code == 403


def test_an_administrator_who_leaves_goes_to_the_switcher(client, signed_in_admin, make, db_session):
    company, admin = signed_in_admin
    make.member(company, make.user(), "admin")
    own = membership_of(admin.email, company)
    response = client.post(f"/org/{company.slug}/membres/{own.id}/retirer")
    assert response.status_code == 303
    assert response.headers["Location"] == "/espaces"
    switcher = client.get("/espaces")
    assert "Alice Admin n'a plus accès à Lumière Services." in flashes(switcher)
    assert "Vous n'êtes membre d'aucune organisation." in visible_text(switcher)
    assert client.get(f"/entreprise/{company.slug}/").status_code == 404


def test_removed_member_loses_access(app, client, signed_in_admin, make, login):
    company, _admin = signed_in_admin
    colleague = make.user()
    membership = make.member(company, colleague, "hr")
    theirs = app.test_client()
    login(theirs, colleague)
    assert theirs.get(f"/entreprise/{company.slug}/").status_code == 200
    client.post(f"/org/{company.slug}/membres/{membership.id}/retirer")
    assert theirs.get(f"/entreprise/{company.slug}/").status_code == 404


def test_non_admin_member_gets_403_on_members_pages(client, company_admin, make, login):
    company, _admin = company_admin
    hr = make.user()
    make.member(company, hr, "hr")
    login(client, hr)
    response = client.get(f"/org/{company.slug}/membres")
    assert response.status_code == 403
    page = visible_text(response)
    assert "Accès refusé" in page and "Votre rôle ne donne pas accès à cette page." in page
    assert invite(client, company, "x@lumiere.fr").status_code == 403
    assert client.get(f"/org/{company.slug}/journal").status_code == 403
    assert count(Invitation) == 0


def test_member_of_another_organisation_gets_404(client, company_admin, make, login):
    company, _admin = company_admin
    stranger = make.user()
    make.company(admin=stranger, opco_code="akto")
    login(client, stranger)
    assert client.get(f"/org/{company.slug}/membres").status_code == 404


# --- Audit log ------------------------------------------------------------------------------------


def test_audit_log_lists_events_with_french_labels_and_filters(client, signed_in_admin, make, db_session):
    company, _admin = signed_in_admin
    colleague = make.member(company, make.user(full_name="Hugo Martin"), "viewer")
    invite(client, company, "nadia@lumiere.fr", "hr")
    client.post(f"/org/{company.slug}/membres/{colleague.id}/role", data={"role": "accountant"})

    response = client.get(f"/org/{company.slug}/journal")
    assert response.status_code == 200
    page = visible_text(response)
    assert "Journal d'activité" in page
    for label in ("Organisation créée", "Connexion", "Invitation envoyée", "Rôle modifié"):
        assert label in page
    assert "Alice Admin" in page

    filtered = visible_text(
        client.get(f"/org/{company.slug}/journal", query_string={"action": "member.invited"})
    )
    assert "1 événement." in filtered
    table = filtered.split("Adresse IP", 1)[1]
    assert "Invitation envoyée" in table
    assert "Rôle modifié" not in table and "Organisation créée" not in table


def test_audit_log_filters_by_person(client, signed_in_admin, make):
    company, admin = signed_in_admin
    hugo = make.user(full_name="Hugo Martin")
    make.member(company, hugo, "viewer")
    audit.record(
        "member.invited", organisation_id=company.id, actor=hugo, data={"email": "par-hugo@lumiere.fr"}
    )
    audit.record(
        "member.invited", organisation_id=company.id, actor=admin, data={"email": "par-alice@lumiere.fr"}
    )
    db.session.commit()
    page = visible_text(client.get(f"/org/{company.slug}/journal", query_string={"actor": str(hugo.id)}))
    assert "par-hugo@lumiere.fr" in page and "par-alice@lumiere.fr" not in page


def test_audit_log_is_paginated_and_htmx_gets_only_the_rows(client, signed_in_admin, db_session):
    company, admin = signed_in_admin
    for n in range(30):
        audit.record(
            "member.invited",
            organisation_id=company.id,
            actor=admin,
            data={"email": f"personne{n:02d}@lumiere.fr", "role": "viewer"},
        )
    db_session.commit()
    total = db_session.scalar(
        select(db.func.count(AuditEvent.id)).where(AuditEvent.organisation_id == company.id)
    )
    assert total > 25

    first = client.get(f"/org/{company.slug}/journal")
    body = first.get_data(as_text=True)
    assert body.count("<tr>") - 1 == 25  # header row + 25 events
    assert f"Page 1 sur {-(-total // 25)}" in visible_text(first)
    assert "Page suivante" in visible_text(first)
    assert "personne29@lumiere.fr" in body and "personne00@lumiere.fr" not in body  # newest first

    second = client.get(f"/org/{company.slug}/journal", query_string={"page": 2})
    second_body = second.get_data(as_text=True)
    assert second_body.count("<tr>") - 1 == total - 25
    assert "personne00@lumiere.fr" in second_body
    assert "Page précédente" in visible_text(second)

    # Filter and page together: the "next" link keeps the filter.
    filtered = client.get(f"/org/{company.slug}/journal", query_string={"action": "member.invited"})
    assert "30 événements." in visible_text(filtered)
    assert (
        "action=member.invited"
        in filtered.get_data(as_text=True).split("Page suivante")[0].rsplit("href", 1)[1]
    )

    rows = client.get(
        f"/org/{company.slug}/journal", query_string={"page": 2}, headers={"HX-Request": "true"}
    )
    assert rows.status_code == 200
    rows_body = rows.get_data(as_text=True)
    assert "<html" not in rows_body and "<form" not in rows_body and "<h1" not in rows_body
    assert "<table>" in rows_body and "personne00@lumiere.fr" in rows_body
    assert "HX-Request" in rows.headers.get("Vary", "")


def test_audit_log_does_not_show_another_organisations_events(client, signed_in_admin, make):
    company, _admin = signed_in_admin
    other_admin = make.user(full_name="Zorro Ailleurs")
    other = make.company(admin=other_admin, name="Ailleurs SARL", opco_code="akto")
    audit.record(
        "member.invited", organisation_id=other.id, actor=other_admin, data={"email": "secret@ailleurs.fr"}
    )
    db.session.commit()
    page = visible_text(client.get(f"/org/{company.slug}/journal"))
    assert "secret@ailleurs.fr" not in page and "Zorro Ailleurs" not in page


def test_audit_log_reads_in_french(client, login, make):
    """Dotted action names and state codes are shown with their French labels."""
    from marketplace.extensions import db
    from marketplace.services import enrolments

    company = make.company()
    admin = make.user()
    make.member(company, admin, "admin")
    session = make.session(capacity_max=1)
    first = make.enrolment(session, company, actor=admin)
    make.enrolment(session, company, actor=admin)
    enrolments.cancel(first, admin)
    db.session.commit()
    login(client, admin)
    page = visible_text(client.get(f"/org/{company.slug}/journal"))
    assert "Inscription annulée par l'entreprise" in page
    assert "avant : Confirmée · après : Annulée par l'entreprise" in page
    assert "Place libérée proposée (liste d'attente)" in page


# --- Limits and concurrency -----------------------------------------------------------------------


def test_invitations_are_limited_per_organisation_and_hour(client, signed_in_admin, outbox, db_session):
    """Not a spam relay: past 20 invitations in an hour the 21st is refused in French and nothing is sent."""
    company, _admin = signed_in_admin
    for n in range(20):
        assert invite(client, company, f"personne{n}@ailleurs.fr").status_code == 303
    refused = invite(client, company, "une-de-trop@ailleurs.fr")
    assert refused.status_code == 422
    assert "Lumière Services a déjà envoyé 20 invitations depuis une heure" in text(refused)
    assert count(Invitation) == 20 and len(outbox()) == 20
    assert outbox("une-de-trop@ailleurs.fr") == []
    # Revoking does not give the allowance back (the mails were sent).
    first = db_session.scalar(select(Invitation).order_by(Invitation.id))
    client.post(f"/org/{company.slug}/invitations/{first.id}/annuler")
    assert invite(client, company, "une-de-trop@ailleurs.fr").status_code == 422

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61), tick=False):
        assert invite(client, company, "une-de-trop@ailleurs.fr").status_code == 303
    assert len(outbox("une-de-trop@ailleurs.fr")) == 1


def test_the_invitation_limit_is_per_organisation(company_admin, make, app_factory, login):
    company, admin = company_admin
    limited = app_factory(INVITATIONS_PER_HOUR=2)
    other_admin = make.user()
    other = make.company(admin=other_admin, opco_code="akto")
    theirs, ours = limited.test_client(), limited.test_client()
    login(theirs, other_admin)
    for n in range(2):
        assert invite(theirs, other, f"a{n}@ailleurs.fr").status_code == 303
    assert invite(theirs, other, "a3@ailleurs.fr").status_code == 422
    assert "a déjà envoyé 2 invitations depuis une heure" in text(invite(theirs, other, "a4@ailleurs.fr"))
    # Another organisation keeps its own allowance.
    login(ours, admin)
    assert invite(ours, company, "b@lumiere.fr").status_code == 303


def test_the_invitation_limit_holds_under_parallel_requests(app_factory, make):
    """Counted under the organisation's row lock: 8 invitations at once against a limit of 3 give exactly 3."""
    import threading

    from marketplace.services import accounts
    from marketplace.services.errors import DomainError

    parallel = app_factory(
        INVITATIONS_PER_HOUR=3,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "max_overflow": 2, "pool_timeout": 60},
    )
    admin = make.user()
    company_id, admin_id = make.company(admin=admin, opco_code="akto").id, admin.id
    db.session.remove()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def one(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            with parallel.app_context():
                try:
                    accounts.invite(
                        db.session.get(Organisation, company_id),
                        f"p{n}@ailleurs.fr",
                        "hr",
                        db.session.get(User, admin_id),
                    )
                    db.session.commit()
                    outcomes.append("sent")
                except DomainError as error:
                    db.session.rollback()
                    outcomes.append(error.message)
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("sent") == 3, outcomes
    assert all("a déjà envoyé 3 invitations depuis une heure" in o for o in outcomes if o != "sent"), outcomes
    assert count(Invitation) == 3


def test_one_invitation_accepted_twice_at_once_gives_one_membership(app_factory, make, db_session):
    """Double click or two tabs: one acceptance joins, the other is told in French; never a 500."""
    import threading

    from marketplace.services import accounts
    from marketplace.services.errors import DomainError

    parallel = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 8, "max_overflow": 2, "pool_timeout": 60})
    admin = make.user(full_name="Alice Admin")
    company = make.company(admin=admin, name="Lumière Services", opco_code="akto")
    existing_id, company_id, admin_id = make.user(email="marc@lumiere.fr").id, company.id, admin.id
    with parallel.app_context():
        token_new = _service_invite(company_id, admin_id, "nadia@lumiere.fr")
        token_existing = _service_invite(company_id, admin_id, "marc@lumiere.fr")
    db.session.remove()

    for token, user_id in ((token_new, None), (token_existing, existing_id)):
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def accept(token=token, user_id=user_id, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait(timeout=30)
                with parallel.app_context():
                    user = db.session.get(User, user_id) if user_id else None
                    try:
                        accounts.accept_invitation(
                            token, user, full_name="Nadia Benali", password=NEW_PASSWORD
                        )
                        db.session.commit()
                        outcomes.append("joined")
                    except DomainError as error:
                        db.session.rollback()
                        outcomes.append(error.message)
                    finally:
                        db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcomes.append(repr(exc))

        threads = [threading.Thread(target=accept) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == [
            "Cette invitation a déjà été acceptée. Connectez-vous pour accéder à l'organisation."
        ] * 3 + ["joined"], outcomes

    company = db_session.get(Organisation, company_id)
    assert membership_of("nadia@lumiere.fr", company) is not None
    assert membership_of("marc@lumiere.fr", company) is not None
    assert count(Membership) == 3
    assert db_session.scalar(select(db.func.count(User.id)).where(User.email == "nadia@lumiere.fr")) == 1
    assert len(events("member.joined", company)) == 2


def _service_invite(company_id: int, admin_id: int, email: str) -> str:
    from marketplace.models import OutboxMessage
    from marketplace.services import accounts

    accounts.invite(db.session.get(Organisation, company_id), email, "hr", db.session.get(User, admin_id))
    db.session.commit()
    body = db.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.recipient == email)).one()
    return token_from(body, "invitation")


# --- Inputs that must not break anything ------------------------------------------------------------
# Control characters, 1 MB bodies and over-long URLs are refused before any page (400, 413, 414):
# tests/web/inputs_expect.py.

ABSURD = ["", "\x00", "a\x00b@lumiere.fr", "x" * 1_000_000, "99999999999999999999", "-5", "[]", "<script>"]


def test_audit_log_ignores_absurd_filters(client, signed_in_admin, db_session):
    """Huge or negative numbers, impossible dates: the filter is ignored, the page answers (NUL bytes and
    over-long URLs get the French refusal page)."""
    company, admin = signed_in_admin
    for n in range(30):
        audit.record(
            "member.invited", organisation_id=company.id, actor=admin, data={"email": f"p{n:02d}@lumiere.fr"}
        )
    db_session.commit()
    total = len(
        db_session.scalars(select(AuditEvent.id).where(AuditEvent.organisation_id == company.id)).all()
    )
    for query in [
        {"actor": "99999999999999999999", "page": "-5", "date_to": "9999-12-31"},
        {"actor": "-1", "page": "99999999999999999999", "date_from": "0001-01-01"},
        {"action": "\x00", "actor": "\x00", "date_from": "\x00", "date_to": "2026-02-30", "page": "\x00"},
        {"action": "x" * 100_000, "actor": "1e9", "page": "1.5", "date_from": "9" * 5000},
        {"action": "x" * 1000, "actor": "1e9", "page": "1.5", "date_from": "9" * 500},
        {"page": "100001", "date_to": "9999-12-31", "action": "member.invited"},
    ]:
        response = client.get(f"/org/{company.slug}/journal", query_string=query)
        if not assert_refused_or(response, 200, *query.values(), sent_as="query"):
            continue
        page = visible_text(response)
        shown = 30 if query.get("action") == "member.invited" else total
        assert f"{shown} événements." in page, query
        assert "Page 1 sur 2" in page or "Page 2 sur 2" in page
    # A page beyond the last shows the last one, with the oldest events.
    last = client.get(
        f"/org/{company.slug}/journal", query_string={"page": "99999", "action": "member.invited"}
    )
    assert "Page 2 sur 2" in visible_text(last) and "p00@lumiere.fr" in visible_text(last)
    # A person of another organisation, or nobody: the filter finds nothing, it does not break.
    nobody = client.get(f"/org/{company.slug}/journal", query_string={"actor": "2147483647"})
    assert "Aucun événement ne correspond à ces filtres." in visible_text(nobody)


def test_absurd_invitations_are_refused_and_change_nothing(client, signed_in_admin, outbox):
    company, _admin = signed_in_admin
    attempts = [(email, "hr") for email in ABSURD]
    attempts += [
        ("nadia@lumiere.fr", role)
        for role in ["\x00", "x" * 100_000, "99999999999999999999", "", "admin\x00"]
    ]
    for email, role in attempts:
        for htmx in (False, True):
            response = invite(client, company, email, role, htmx=htmx)
            assert_refused_or(response, 422, email, role)
    assert count(Invitation) == 0 and outbox() == []
    response = client.post(
        f"/org/{company.slug}/membres/inviter", data={"email": ["a@b.fr", "c@d.fr"], "role": ["hr", "x"]}
    )
    assert response.status_code in (303, 422)
    assert count(Invitation) <= 1
    assert outbox("c@d.fr") == []


def test_absurd_roles_are_refused_and_change_nothing(client, signed_in_admin, make, db_session):
    company, _admin = signed_in_admin
    colleague = make.member(company, make.user(), "viewer")
    for role in ABSURD:
        response = client.post(f"/org/{company.slug}/membres/{colleague.id}/role", data={"role": role})
        if assert_refused_or(response, 422, role):
            assert "Choisissez un rôle dans la liste." in flashes(response)
    assert db_session.get(Membership, colleague.id, populate_existing=True).role == "viewer"
    assert not events("member.role_changed", company)
    for url in (
        f"/org/{company.slug}/membres/99999999999999999999/role",
        f"/org/{company.slug}/membres/-1/retirer",
        f"/org/{company.slug}/invitations/2147483648/annuler",
    ):
        assert client.post(url, data={"role": "hr"}).status_code == 404
