"""OPCO catalogue pages (create, edit, publish, archive, referencings) and the public catalogue."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import ActionStatus, AuditEvent, CollectiveAction, Referencing
from tests.web.pages import count, flashes, text, visible_text

TODAY = paris_today()


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def opco_admin(make, akto):
    admin = make.user(email="catalogue@akto.test", full_name="Chloé Catalogue")
    make.member(akto, admin, "admin")
    return admin


@pytest.fixture
def signed_in(client, login, opco_admin, akto):
    login(client, opco_admin)
    return client


def form_data(**changes) -> dict:
    data = {
        "title": "Manager une équipe de proximité",
        "reference": "AC-2026-001",
        "theme_code": "31",
        "modality": "presentiel",
        "duration_hours": "10,5",
        "campaign_year": str(TODAY.year),
        "objectives": "Animer une équipe.",
        "programme": "Deux jours d'ateliers.",
        "prerequisites": "",
        "target_public": "Chefs d'équipe",
        "scope": "national",
        "price": "1 000,00",
        "share_lt11": "100",
        "share_11_49": "100",
        "share_50_249": "50",
        "share_250_299": "",
        "share_300plus": "",
        "cap_per_company_per_session": "2",
        "cap_per_company_per_year": "",
        "cancellation_days": "10",
    }
    data.update(changes)
    return data


@contextmanager
def counting_queries():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# --- Creating, editing ----------------------------------------------------------------------------------


def test_opco_creates_an_action_and_sees_what_companies_will_see(signed_in, akto):
    response = signed_in.post(f"/opco/{akto.slug}/catalogue/nouvelle", data=form_data())
    action = db.session.scalar(select(CollectiveAction))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/opco/{akto.slug}/catalogue/{action.id}"
    assert action.status == ActionStatus.DRAFT and action.price_cents == 100_000

    page = signed_in.get(response.headers["Location"])
    assert "L'action « Manager une équipe de proximité » est enregistrée en brouillon." in flashes(page)
    body = visible_text(page)
    assert "Brouillon Référence AC-2026-001" in body
    assert "Durée 10,5 heures" in body
    assert "De 50 à 249 salariés 50 % 500,00 € HT 500,00 € HT" in body
    assert "Moins de 11 salariés 100 % 1 000,00 € HT 0,00 € HT" in body
    assert "De 250 à 299 salariés Non éligible" in body
    assert "Publier l'action" in body


def test_invalid_form_shows_french_errors_and_saves_nothing(signed_in, akto):
    response = signed_in.post(
        f"/opco/{akto.slug}/catalogue/nouvelle",
        data=form_data(duration_hours="0", price="mille", scope="regional", share_lt11="120"),
    )
    assert response.status_code == 422
    body = text(response)
    assert "Le formulaire contient 4 erreurs" in body
    assert "La durée doit être supérieure à 0 heure." in body
    assert "Le prix par stagiaire doit être un montant en euros, par exemple 1 200,50." in body
    assert "Cochez au moins une région, ou indiquez que l'action est nationale." in body
    assert "Moins de 11 salariés : la part prise en charge doit être un nombre entier de 0 à 100" in body
    assert 'value="mille"' in body  # what was typed stays in the form
    assert count(CollectiveAction) == 0


def test_edit_form_is_filled_and_saves_changes(signed_in, akto, make):
    action = make.action(akto, price_cents=120_050, shares={"<11": 100}, duration_hours="7")
    page = signed_in.get(f"/opco/{akto.slug}/catalogue/{action.id}/modifier")
    assert page.status_code == 200
    body = text(page)
    assert 'value="1200,50"' in body and 'name="share_lt11" type="text" value="100"' in body
    assert "readonly" in body.split('name="reference"')[1].split(">")[0]  # published: reference locked

    response = signed_in.post(
        f"/opco/{akto.slug}/catalogue/{action.id}/modifier",
        data=form_data(reference=action.reference, title="Nouveau titre", share_lt11="80"),
    )
    assert response.status_code == 303
    db.session.refresh(action)
    assert action.title == "Nouveau titre" and action.share_for("<11") == 80
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalogue.action_updated"))
        is not None
    )


# --- Publishing and archiving ---------------------------------------------------------------------------


def test_publish_then_archive_then_publish_is_refused(signed_in, akto, make):
    action = make.action(akto, status="draft", title="Bureautique")
    url = f"/opco/{akto.slug}/catalogue/{action.id}/etat"

    response = signed_in.post(url, data={"event": "publish"})
    assert response.status_code == 303
    page = signed_in.get(response.headers["Location"])
    assert flashes(page) == [
        "L'action « Bureautique » est publiée : elle apparaît dans le catalogue public et dans celui des "
        "entreprises adhérentes."
    ]
    db.session.refresh(action)
    assert action.status == "published" and action.published_at == TODAY

    page = signed_in.post(url, data={"event": "archive"}, follow_redirects=True)
    assert flashes(page) == [
        "L'action « Bureautique » est archivée : elle n'est plus proposée aux entreprises."
    ]
    db.session.refresh(action)
    assert action.status == "archived"

    page = signed_in.post(url, data={"event": "publish"}, follow_redirects=True)
    assert flashes(page) == [
        "Action impossible : « Publier » n'est pas possible quand l'état est « Archivée »."
    ]
    db.session.refresh(action)
    assert action.status == "archived"
    assert "Remettre en brouillon" in visible_text(page)
    assert "Publier l'action" not in visible_text(page)


def test_incomplete_action_explains_what_is_missing(signed_in, akto, make):
    action = make.action(akto, status="draft", objectives="", shares={})
    page = signed_in.get(f"/opco/{akto.slug}/catalogue/{action.id}")
    assert "Avant de publier cette action : Indiquez les objectifs de la formation." in visible_text(page)

    page = signed_in.post(
        f"/opco/{akto.slug}/catalogue/{action.id}/etat", data={"event": "publish"}, follow_redirects=True
    )
    assert flashes(page) == [
        "Publication impossible : indiquez les objectifs de la formation ; indiquez la part prise en charge pour "
        "au moins une tranche d'effectif."
    ]
    db.session.refresh(action)
    assert action.status == "draft"


def test_list_filters_by_status_counts_sessions_in_constant_queries(signed_in, akto, make):
    published = make.action(akto, title="Action publiée")
    make.session(published)
    make.session(published)
    make.action(akto, title="Action brouillon", status="draft")
    make.action(make.opco("atlas"), title="Action d'Atlas")

    page = signed_in.get(f"/opco/{akto.slug}/catalogue")
    body = visible_text(page)
    assert "Toutes (2) Brouillons (1) Publiées (1) Archivées (0)" in body
    assert "Action publiée" in body and "Action brouillon" in body and "Action d'Atlas" not in body

    page = signed_in.get(f"/opco/{akto.slug}/catalogue?statut=draft")
    assert "Action brouillon" in visible_text(page) and "Action publiée" not in visible_text(page)

    with counting_queries() as few:
        signed_in.get(f"/opco/{akto.slug}/catalogue")
    for n in range(8):
        action = make.action(akto, title=f"Action {n}", regions=["84", "11"])
        make.session(action)
    with counting_queries() as many:
        page = signed_in.get(f"/opco/{akto.slug}/catalogue")
    assert "Action 7" in visible_text(page)
    assert len(many) == len(few)


# --- Referencings ---------------------------------------------------------------------------------------


def reference(client, akto, action, provider, **changes):
    data = {
        "provider_id": str(provider.id),
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=200)).isoformat(),
        "price": "900",
    }
    data.update(changes)
    return client.post(f"/opco/{akto.slug}/catalogue/{action.id}/referencements/nouveau", data=data)


def test_referencing_form_lists_every_provider_with_siret_and_qualiopi(signed_in, akto, make):
    action = make.action(akto)
    make.provider(name="Valide Formation", siret="73282932000074")
    expired = make.provider(name="Périmé Formation", qualiopi_expires_on=TODAY - timedelta(days=3))
    page = signed_in.get(f"/opco/{akto.slug}/catalogue/{action.id}/referencements/nouveau")
    body = text(page)
    assert "Valide Formation — SIRET 732 829 320 00074 — Qualiopi valide jusqu'au" in body
    assert "Périmé Formation — SIRET" in body
    assert f"Qualiopi expiré le {expired.qualiopi_expires_on:%d/%m/%Y}" in body
    assert f'<option disabled value="{expired.id}">' in body


def test_opco_references_a_provider_then_suspends_it_with_a_reason(signed_in, akto, make):
    action = make.action(akto, price_cents=100_000)
    provider = make.provider(name="Campus Formation")
    response = reference(signed_in, akto, action, provider)
    assert response.status_code == 303
    page = signed_in.get(response.headers["Location"])
    assert "Campus Formation est référencé sur l'action" in flashes(page)[0]
    assert "Campus Formation" in visible_text(page) and "900,00 € HT Actif" in visible_text(page)

    referencing = db.session.scalar(select(Referencing))
    url = f"/opco/{akto.slug}/catalogue/{action.id}/referencements/{referencing.id}/etat"
    page = signed_in.post(url, data={"event": "suspend", "reason": ""}, follow_redirects=True)
    assert flashes(page) == ["Indiquez le motif pour suspendre ce référencement."]
    db.session.refresh(referencing)
    assert referencing.status == "active"

    page = signed_in.post(url, data={"event": "suspend", "reason": "Audit qualité"}, follow_redirects=True)
    assert flashes(page) == ["Le référencement de Campus Formation est suspendu."]
    assert "Suspendu Motif : Audit qualité" in visible_text(page)

    page = signed_in.post(url, data={"event": "reactivate"}, follow_redirects=True)
    assert flashes(page) == ["Le référencement de Campus Formation est réactivé."]
    db.session.refresh(referencing)
    assert (referencing.status, referencing.status_reason) == ("active", None)


def test_expired_qualiopi_and_price_above_ceiling_are_refused(signed_in, akto, make):
    action = make.action(akto, price_cents=100_000)
    expired = make.provider(name="Périmé Formation", qualiopi_expires_on=TODAY - timedelta(days=3))
    response = reference(signed_in, akto, action, expired)
    assert response.status_code == 422
    assert "Le certificat Qualiopi de Périmé Formation a expiré le" in text(response)

    response = reference(signed_in, akto, action, make.provider(), price="1 000,01")
    assert response.status_code == 422
    assert (
        "Le prix négocié (1 000,01 € HT) dépasse le prix plafond de l'action (1 000,00 € HT)."
        in visible_text(response)
    )
    assert count(Referencing) == 0


def test_edit_referencing(signed_in, akto, make):
    action = make.action(akto, price_cents=100_000)
    referencing = make.referencing(action, price_cents=90_000)
    url = f"/opco/{akto.slug}/catalogue/{action.id}/referencements/{referencing.id}/modifier"
    assert 'value="900,00"' in text(signed_in.get(url))
    response = signed_in.post(
        url,
        data={
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=9)).isoformat(),
            "price": "950",
        },
    )
    assert response.status_code == 303
    db.session.refresh(referencing)
    assert (referencing.price_cents, referencing.valid_until) == (95_000, TODAY + timedelta(days=9))


def test_referencing_of_another_action_is_not_found_under_this_action(signed_in, akto, make):
    action = make.action(akto)
    other = make.action(akto)
    referencing = make.referencing(other)
    response = signed_in.get(
        f"/opco/{akto.slug}/catalogue/{action.id}/referencements/{referencing.id}/modifier"
    )
    assert response.status_code == 404


# --- Permissions ----------------------------------------------------------------------------------------


def test_company_user_does_not_see_opco_pages(client, login, make, akto):
    action = make.action(akto)
    company_admin = make.user()
    make.company(admin=company_admin, opco_code="akto")
    login(client, company_admin)
    assert client.get(f"/opco/{akto.slug}/catalogue").status_code == 404
    assert client.get(f"/opco/{akto.slug}/catalogue/{action.id}").status_code == 404
    assert (
        client.post(f"/opco/{akto.slug}/catalogue/{action.id}/etat", data={"event": "archive"}).status_code
        == 404
    )


def test_viewer_reads_the_catalogue_but_cannot_change_it(client, login, make, akto):
    action = make.action(akto, status="draft")
    viewer = make.user()
    make.member(akto, viewer, "viewer")
    login(client, viewer)
    page = client.get(f"/opco/{akto.slug}/catalogue")
    assert page.status_code == 200 and "Créer une action collective" not in visible_text(page)
    detail = client.get(f"/opco/{akto.slug}/catalogue/{action.id}")
    assert detail.status_code == 200 and "Publier l'action" not in visible_text(detail)
    assert client.get(f"/opco/{akto.slug}/catalogue/nouvelle").status_code == 403
    assert client.post(f"/opco/{akto.slug}/catalogue/nouvelle", data=form_data()).status_code == 403
    assert (
        client.post(f"/opco/{akto.slug}/catalogue/{action.id}/etat", data={"event": "publish"}).status_code
        == 403
    )
    db.session.refresh(action)
    assert action.status == "draft" and count(CollectiveAction) == 1


# --- Public catalogue -----------------------------------------------------------------------------------


def test_public_catalogue_lists_opcos_with_their_published_actions(client, make):
    akto = make.opco("akto")
    make.opco("atlas")
    make.action(akto)
    make.action(akto, status="draft")
    page = client.get("/catalogue")
    assert page.status_code == 200
    body = visible_text(page)
    assert "AKTO 1 action collective publiée" in body
    assert "Aucune action publiée pour le moment." in body


def test_public_opco_page_shows_published_actions_only(client, make):
    akto = make.opco("akto")
    action = make.action(
        akto,
        title="Sécurité au travail",
        price_cents=120_000,
        shares={"<11": 100, "50-249": 50},
        regions=["84"],
    )
    make.session(action, make.provider(name="Campus Formation"), start=TODAY + timedelta(days=15))
    make.action(akto, title="Brouillon secret", status="draft")
    make.action(akto, title="Action archivée", status="archived")
    make.action(make.opco("atlas"), title="Action d'Atlas")

    page = client.get(f"/catalogue/{akto.slug}")
    assert page.status_code == 200
    body = visible_text(page)
    assert "1 action collective." in body
    assert "Sécurité au travail" in body
    assert (
        "1 200,00 € HT par stagiaire, pris en charge jusqu'à 100 % selon la taille de l'entreprise." in body
    )
    assert "Auvergne-Rhône-Alpes" in body
    assert "Organisme référencé : Campus Formation" in body
    assert "1 session à venir ouverte aux inscriptions" in body
    for hidden in ("Brouillon secret", "Action archivée", "Action d'Atlas"):
        assert hidden not in body


def test_public_search_and_pagination(client, make):
    akto = make.opco("akto")
    for n in range(23):
        make.action(akto, title=f"Bureautique niveau {n:02d}")
    make.action(akto, title="Sécurité au travail")

    page = visible_text(client.get(f"/catalogue/{akto.slug}?q=Sécurité"))
    assert "1 action collective pour « Sécurité »." in page and "Sécurité au travail" in page

    first = visible_text(client.get(f"/catalogue/{akto.slug}?q=bureautique"))
    assert "23 actions collectives" in first and "Page 1 sur 2" in first
    second = visible_text(client.get(f"/catalogue/{akto.slug}?q=bureautique&page=2"))
    assert "Bureautique niveau 22" in second and "Bureautique niveau 00" not in second

    fragment = client.get(f"/catalogue/{akto.slug}?q=sécurité", headers={"HX-Request": "true"})
    assert "<h1>" not in fragment.get_data(as_text=True) and "Sécurité au travail" in visible_text(fragment)
    assert "HX-Request" in fragment.headers.get("Vary", "")


def test_public_list_runs_a_constant_number_of_queries(client, make):
    akto = make.opco("akto")
    action = make.action(akto)
    make.referencing(action)
    make.session(action)
    with counting_queries() as few:
        client.get(f"/catalogue/{akto.slug}")
    for _ in range(6):
        other = make.action(akto, regions=["11", "84"])
        make.session(other)
    with counting_queries() as many:
        client.get(f"/catalogue/{akto.slug}")
    assert len(many) == len(few)


def test_public_action_page(client, make):
    akto = make.opco("akto")
    action = make.action(
        akto,
        title="Sécurité au travail",
        price_cents=100_000,
        shares={"<11": 100, "50-249": 50},
        objectives="Prévenir les risques professionnels.",
    )
    provider = make.provider(name="Campus Formation")
    make.session(action, provider, start=TODAY + timedelta(days=20), days=2, city="Lyon")
    make.session(action, provider, start=TODAY + timedelta(days=30), status="draft", city="Brest")

    page = client.get(f"/catalogue/{akto.slug}/actions/{action.id}")
    assert page.status_code == 200
    body = visible_text(page)
    assert "Prévenir les risques professionnels." in body
    assert "De 50 à 249 salariés 50 % 500,00 € HT 500,00 € HT" in body
    assert "De 11 à 49 salariés Non éligible" in body
    start = TODAY + timedelta(days=20)
    assert (
        f"Du {start:%d/%m/%Y} au {start + timedelta(days=1):%d/%m/%Y} Lyon (Auvergne-Rhône-Alpes) Campus Formation"
        in body
    )
    assert "Brest" not in body


def test_hidden_actions_answer_404_on_the_public_pages(client, make):
    akto = make.opco("akto")
    atlas = make.opco("atlas")
    draft = make.action(akto, status="draft")
    archived = make.action(akto, status="archived")
    of_atlas = make.action(atlas)
    assert client.get(f"/catalogue/{akto.slug}/actions/{draft.id}").status_code == 404
    assert client.get(f"/catalogue/{akto.slug}/actions/{archived.id}").status_code == 404
    assert client.get(f"/catalogue/{akto.slug}/actions/{of_atlas.id}").status_code == 404
    assert client.get(f"/catalogue/{atlas.slug}/actions/{of_atlas.id}").status_code == 200
    assert client.get("/catalogue/opco-inconnu").status_code == 404


def test_a_page_past_the_end_shows_the_last_page(client, make):
    akto = make.opco("akto")
    for n in range(21):
        make.action(akto, title=f"Action {n:02d}")
    page = visible_text(client.get(f"/catalogue/{akto.slug}?page=9"))
    assert "Page 2 sur 2" in page and "Action 20" in page
