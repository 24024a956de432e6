"""OPCO pages of the calls for tenders: list, builder, detail, publication, files, answers, lazy closing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Tender, TenderAttachment, TenderQuestion, TenderStatus, utcnow
from tests.web.pages import count, count_queries, flashes, text, visible_text
from tests.web.writes import writes

NEXT_YEAR = paris_today().year + 1


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def buyer(make, akto):
    user = make.user(email="acheteur@akto.test", full_name="Bruno Acheteur")
    make.member(akto, user, "tender_manager")
    return user


@pytest.fixture
def signed_in(client, login, buyer):
    login(client, buyer)
    return client


def url(opco, path: str = "") -> str:
    return f"/opco/{opco.slug}/appels-d-offres{path}"


def form_data(**changes) -> dict:
    data = {
        "title": "Management de proximité",
        "reference": "AO-2027-01",
        "context": "Renouveler l'offre des branches.",
        "specification": "Public : chefs d'équipe.",
        "questions_deadline": f"{NEXT_YEAR}-01-10T12:00",
        "submission_deadline": f"{NEXT_YEAR}-01-20T12:00",
        "expected_award_date": f"{NEXT_YEAR}-02-15",
        "required_documents": ["technical_proposal", "qualiopi_certificate"],
        "lots-0-title": "Management – Île-de-France",
        "lots-0-theme_code": "31",
        "lots-0-region_code": "11",
        "lots-0-expected_sessions": "4",
        "lots-0-expected_trainees": "40",
        "lots-0-max_price": "1 200,50",
        "lots-0-duration_hours": "14",
        "lots-0-action_id": "",
        # Row 1 left empty (selects keep their default): ignored.
        "lots-1-title": "",
        "lots-1-theme_code": "",
        "lots-1-region_code": "",
        "lots-1-action_id": "",
        "lots-2-title": "Management – national",
        "lots-2-theme_code": "31",
        "lots-2-region_code": "",
        "lots-2-expected_sessions": "10",
        "lots-2-expected_trainees": "100",
        "lots-2-max_price": "1100",
        "lots-2-duration_hours": "",
        "lots-2-action_id": "",
        "criteria-0-label": "Valeur technique",
        "criteria-0-weight": "40",
        "criteria-1-label": "Équipe et moyens",
        "criteria-1-weight": "20",
        "criteria-2-label": "Prix",
        "criteria-2-weight": "30",
        "criteria-3-label": "",
        "criteria-3-weight": "",
        "criteria-4-label": "RSE",
        "criteria-4-weight": "10",
    }
    data.update(changes)
    return data


# --- Builder --------------------------------------------------------------------------------------------


def test_builder_page_has_the_fieldsets_and_repeated_rows(signed_in, akto):
    response = signed_in.get(url(akto, "/nouveau"))
    assert response.status_code == 200
    body = text(response)
    for legend in (
        "Présentation",
        "Calendrier et attribution",
        "Documents exigés dans chaque réponse",
        "Lots",
        "Critères d'évaluation",
    ):
        assert f"<legend>{legend}</legend>" in body
    assert 'type="datetime-local"' in body
    assert 'name="lots-5-title"' in body and 'name="criteria-5-weight"' in body
    assert "Total des pondérations : 0 sur 100" in visible_text(response)


def test_create_a_tender_through_the_builder(signed_in, akto):
    response = signed_in.post(url(akto, "/nouveau"), data=form_data())
    assert response.status_code == 303, visible_text(response)[:2000]
    tender = db.session.scalar(select(Tender))
    assert response.headers["Location"].endswith(url(akto, f"/{tender.id}"))
    assert tender.status == TenderStatus.DRAFT
    assert [lot.title for lot in tender.lots] == ["Management – Île-de-France", "Management – national"]
    assert tender.lots[0].max_price_cents == 120_050
    assert [c.weight for c in tender.criteria] == [40, 20, 30, 10]
    assert tender.submission_deadline.hour == 11  # 12h00 in Paris, stored in UTC

    page = signed_in.get(response.headers["Location"])
    shown = visible_text(page)
    assert "est enregistré en brouillon" in " ".join(flashes(page))
    assert f"20/01/{NEXT_YEAR} à 12h00 (heure de Paris)" in shown
    assert "1 200,50 € HT" in shown and "National" in shown
    assert "Avant de publier cet appel d'offres" not in shown  # complete: publishable


def test_weights_not_totalling_100_are_refused_and_nothing_is_saved(signed_in, akto):
    response = signed_in.post(
        url(akto, "/nouveau"), data=form_data(**{"criteria-4-weight": ""}, **{"criteria-4-label": ""})
    )
    assert response.status_code == 422
    shown = visible_text(response)
    assert "Les pondérations des critères totalisent 90 : elles doivent totaliser 100." in shown
    assert "Total des pondérations : 90 sur 100 — il manque 10 points." in shown
    assert count(Tender) == 0
    # What was typed is kept.
    assert 'value="Management – Île-de-France"' in text(response)


def test_errors_are_shown_next_to_their_row(signed_in, akto):
    response = signed_in.post(url(akto, "/nouveau"), data=form_data(**{"lots-2-max_price": "beaucoup"}))
    assert response.status_code == 422
    body = text(response)
    # Row 2 of the form (the third), even though the empty row 1 was skipped.
    assert 'id="lots-2-max_price-erreur"' in body
    assert "Lot 2 : le prix maximum par stagiaire doit être un montant en euros" in body


def test_live_total_of_the_weights(signed_in, akto):
    response = signed_in.get(
        url(akto, "/ponderations?criteria-0-weight=60&criteria-1-weight=50&criteria-2-weight=")
    )
    assert response.status_code == 200
    assert visible_text(response) == "Total des pondérations : 110 sur 100 — 10 points de trop."
    response = signed_in.get(url(akto, "/ponderations?criteria-0-weight=60&criteria-1-weight=40"))
    assert "100 sur 100" in visible_text(response)


def test_edit_a_draft_and_frozen_once_published(signed_in, akto, make):
    tender = make.tender(akto, status="draft", title="Première version", lots=2)
    page = signed_in.get(url(akto, f"/{tender.id}/modifier"))
    assert page.status_code == 200
    assert 'value="Première version"' in text(page) and 'value="1500,00"' in text(page)

    response = signed_in.post(url(akto, f"/{tender.id}/modifier"), data=form_data(title="Deuxième version"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Tender, tender.id).title == "Deuxième version"

    published = make.tender(akto, title="Déjà publié")
    page = signed_in.get(url(akto, f"/{published.id}/modifier"))
    assert page.status_code == 200
    assert "il ne peut plus être modifié" in visible_text(page)
    response = signed_in.post(url(akto, f"/{published.id}/modifier"), data=form_data(title="Changé"))
    assert response.status_code == 422 and "il ne peut plus être modifié" in visible_text(response)
    assert db.session.get(Tender, published.id).title == "Déjà publié"


# --- Publication and states -----------------------------------------------------------------------------


def test_publish_from_the_detail_page(signed_in, akto, make):
    tender = make.tender(akto, status="draft")
    response = signed_in.post(
        url(akto, f"/{tender.id}/etat"), data={"event": "publish"}, follow_redirects=True
    )
    assert "est publié : tous les organismes de formation" in " ".join(flashes(response))
    assert db.session.get(Tender, tender.id).status == TenderStatus.PUBLISHED


def test_publish_refused_when_weights_do_not_total_100(signed_in, akto, make):
    tender = make.tender(akto, status="draft", criteria=[("Valeur technique", 70), ("Prix", 20)])
    page = signed_in.get(url(akto, f"/{tender.id}"))
    assert "Les pondérations des critères totalisent 90 : elles doivent totaliser 100." in visible_text(page)
    response = signed_in.post(
        url(akto, f"/{tender.id}/etat"), data={"event": "publish"}, follow_redirects=True
    )
    assert flashes(response) == [
        "Publication impossible. Les pondérations des critères totalisent 90 : elles doivent totaliser 100."
    ]
    assert db.session.get(Tender, tender.id).status == TenderStatus.DRAFT


def test_start_analysis_and_declare_unsuccessful(signed_in, akto, make):
    tender = make.tender(akto, status="closed")
    page = visible_text(signed_in.get(url(akto, f"/{tender.id}")))
    assert "Commencer l'analyse des réponses" in page and "Déclarer l'appel d'offres infructueux" in page
    response = signed_in.post(
        url(akto, f"/{tender.id}/etat"), data={"event": "start_analysis"}, follow_redirects=True
    )
    assert flashes(response) == [f"L'analyse des réponses à « {tender.title} » est commencée."]
    assert db.session.get(Tender, tender.id).status == TenderStatus.UNDER_ANALYSIS

    response = signed_in.post(
        url(akto, f"/{tender.id}/etat"),
        data={"event": "declare_unsuccessful", "reason": ""},
        follow_redirects=True,
    )
    assert flashes(response) == ["Indiquez pourquoi l'appel d'offres est déclaré infructueux."]
    signed_in.post(
        url(akto, f"/{tender.id}/etat"),
        data={"event": "declare_unsuccessful", "reason": "Offres trop chères"},
    )
    assert db.session.get(Tender, tender.id).status == TenderStatus.UNSUCCESSFUL


def test_an_event_not_offered_is_refused(signed_in, akto, make):
    tender = make.tender(akto, status="under_analysis")
    response = signed_in.post(url(akto, f"/{tender.id}/etat"), data={"event": "award"}, follow_redirects=True)
    assert flashes(response) == ["Cette action n'est pas possible."]
    assert db.session.get(Tender, tender.id).status == TenderStatus.UNDER_ANALYSIS


def test_list_shows_a_tender_past_its_deadline_as_closed_and_writes_nothing(client, login, buyer, akto, make):
    make.tender(akto, title="Ouvert aux réponses")
    due = make.tender(
        akto,
        title="Échu",
        submission_deadline=utcnow() + timedelta(days=1),
        questions_deadline=utcnow() + timedelta(hours=1),
    )
    make.tender(make.opco("atlas"), title="Celui d'ATLAS")
    with time_machine.travel(due.submission_deadline + timedelta(minutes=1), tick=False):
        login(client, buyer)
        with count_queries() as statements:
            response = client.get(url(akto))
        closed_only = visible_text(client.get(url(akto, "?statut=closed")))
        published_only = visible_text(client.get(url(akto, "?statut=published")))
    assert response.status_code == 200
    shown = visible_text(response)
    assert "Ouvert aux réponses" in shown and "Échu" in shown and "Celui d'ATLAS" not in shown
    assert "Clos (1)" in shown and "Publié (1)" in shown
    assert "Échu" in closed_only and "Ouvert aux réponses" not in closed_only
    assert "Ouvert aux réponses" in published_only and "Échu" not in published_only
    assert writes(statements) == []
    # The stored status catches up only through the scheduled command.
    assert db.session.get(Tender, due.id).status == TenderStatus.PUBLISHED


def test_detail_after_the_deadline_shows_closed_writes_nothing_and_the_analysis_closes_it(
    client, login, buyer, akto, make
):
    tender = make.tender(akto)
    with time_machine.travel(tender.submission_deadline + timedelta(seconds=30), tick=False):
        login(client, buyer)
        with count_queries() as statements:
            page = client.get(url(akto, f"/{tender.id}"))
        shown = visible_text(page)
        assert "Clos" in shown and "Publié" not in shown
        assert "Commencer l'analyse des réponses" in shown
        assert writes(statements) == []
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "tender.close")) is None

        # The POST that needs the stored status writes the close first, under the tender's row lock.
        response = client.post(url(akto, f"/{tender.id}/etat"), data={"event": "start_analysis"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Tender, tender.id).status == TenderStatus.UNDER_ANALYSIS
    assert list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("tender.%")).order_by(AuditEvent.id)
        )
    )[-2:] == ["tender.close", "tender.start_analysis"]


def test_response_counts_without_names_before_the_deadline(signed_in, akto, make):
    tender = make.tender(akto, lots=2)
    make.tender_response(tender, make.provider(name="Formations Discrètes"))
    make.tender_response(tender, make.provider(name="Autre Organisme Secret"))
    make.tender_response(tender, make.provider(name="Brouillon Caché"), lot=tender.lots[1], status="draft")
    page = visible_text(signed_in.get(url(akto, f"/{tender.id}")))
    assert "Réponses reçues" in page
    assert "Formations Discrètes" not in page and "Autre Organisme Secret" not in page
    assert "Brouillon Caché" not in page
    row_1 = page[page.index("1. Lot 1") : page.index("2. Lot 2")]
    assert row_1.rstrip().endswith("2")


def test_another_opcos_tender_is_not_found(signed_in, akto, make):
    other = make.tender(make.opco("atlas"), status="draft")
    for path in ("", "/modifier"):
        assert signed_in.get(url(akto, f"/{other.id}{path}")).status_code == 404
    assert signed_in.post(url(akto, f"/{other.id}/etat"), data={"event": "publish"}).status_code == 404
    assert db.session.get(Tender, other.id).status == TenderStatus.DRAFT


# --- Files ----------------------------------------------------------------------------------------------


def test_upload_download_and_remove_a_file(signed_in, akto, make):
    tender = make.tender(akto, status="draft")
    response = signed_in.post(
        url(akto, f"/{tender.id}/pieces"),
        data={"file": (io.BytesIO(b"%PDF-1.7 cahier"), "Cahier des charges.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert flashes(response) == ["Le fichier « Cahier des charges.pdf » est joint à l'appel d'offres."]
    attachment = db.session.scalar(select(TenderAttachment))
    download = signed_in.get(url(akto, f"/{tender.id}/pieces/{attachment.id}"))
    assert download.status_code == 200 and download.data == b"%PDF-1.7 cahier"
    assert "attachment" in download.headers["Content-Disposition"]

    response = signed_in.post(
        url(akto, f"/{tender.id}/pieces/{attachment.id}/supprimer"), follow_redirects=True
    )
    assert flashes(response) == ["Le fichier « Cahier des charges.pdf » est retiré."]
    assert count(TenderAttachment) == 0


def test_wrong_type_upload_is_refused_with_a_clear_message(app, signed_in, akto, make):
    from pathlib import Path

    tender = make.tender(akto, status="draft")
    root = Path(app.config["STORAGE_DIR"])
    before = set(root.rglob("*")) if root.exists() else set()
    response = signed_in.post(
        url(akto, f"/{tender.id}/pieces"),
        data={"file": (io.BytesIO(b"#!/bin/sh\nrm -rf /"), "script.sh")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert flashes(response) == [
        "Le fichier « script.sh » n'est pas accepté : déposez un document PDF, DOCX, XLSX ou ODT."
    ]
    assert count(TenderAttachment) == 0
    assert (set(root.rglob("*")) if root.exists() else set()) == before


def test_files_of_another_tender_are_not_found(signed_in, akto, make):
    mine = make.tender(akto, status="draft")
    theirs = make.tender(akto, status="draft")
    from marketplace.services import tenders

    attachment = tenders.add_attachment(theirs, "annexe.pdf", b"%PDF-1.4", None)
    db.session.commit()
    assert signed_in.get(url(akto, f"/{mine.id}/pieces/{attachment.id}")).status_code == 404


# --- Questions ------------------------------------------------------------------------------------------


def test_answer_a_question_and_publish_it(signed_in, akto, make, outbox):
    tender = make.tender(akto)
    provider = make.provider(name="Organisme Curieux")
    asker = provider.memberships[0].user
    question = TenderQuestion(
        tender_id=tender.id,
        provider_id=provider.id,
        asked_by_id=asker.id,
        question="Le distanciel est-il accepté ?",
    )
    db.session.add(question)
    db.session.commit()

    page = visible_text(signed_in.get(url(akto, f"/{tender.id}")))
    assert "Organisme Curieux" in page and "À répondre" in page and "Le distanciel est-il accepté ?" in page

    response = signed_in.post(
        url(akto, f"/{tender.id}/questions/{question.id}"),
        data={"answer": "Oui, en classe virtuelle.", "publish": "y"},
        follow_redirects=True,
    )
    assert flashes(response) == [
        "La réponse est publiée : tous les organismes la lisent, sans le nom de l'auteur de la question."
    ]
    db.session.expire_all()
    question = db.session.get(TenderQuestion, question.id)
    assert question.is_published and question.answer == "Oui, en classe virtuelle."
    assert len(outbox(asker.email)) == 1


def test_answer_to_a_question_of_another_tender_is_not_found(signed_in, akto, make):
    tender = make.tender(akto)
    other = make.tender(akto)
    question = TenderQuestion(tender_id=other.id, provider_id=make.provider().id, question="?")
    db.session.add(question)
    db.session.commit()
    response = signed_in.post(url(akto, f"/{tender.id}/questions/{question.id}"), data={"answer": "x"})
    assert response.status_code == 404
