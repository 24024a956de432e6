"""Calls for tenders seen by training organisations: list of every OPCO's tenders, detail, questions, files."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Tender, TenderQuestion, TenderStatus, utcnow
from marketplace.services import tender_questions, tenders
from tests.web.pages import count_queries, flashes, text, visible_text
from tests.web.writes import writes


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def admin(provider):
    return provider.memberships[0].user


@pytest.fixture
def signed_in(client, login, admin):
    login(client, admin)
    return client


def url(provider, path: str = "") -> str:
    return f"/of/{provider.slug}/appels-d-offres{path}"


# --- List -----------------------------------------------------------------------------------------------


def test_list_shows_published_tenders_of_every_opco_never_drafts(signed_in, provider, akto, make):
    make.tender(akto, title="Management AKTO")
    make.tender(make.opco("atlas"), title="Numérique ATLAS", theme_code="32", region_code="53")
    make.tender(akto, title="Brouillon secret", status="draft")
    make.tender(akto, title="Déjà clos", status="closed", submission_deadline=utcnow() - timedelta(days=2))

    response = signed_in.get(url(provider))
    assert response.status_code == 200
    shown = visible_text(response)
    assert "Management AKTO" in shown and "Numérique ATLAS" in shown
    assert "Brouillon secret" not in shown and "Déjà clos" not in shown
    assert "2 appels d'offres" in shown and "il reste 20 jours" in shown
    assert "HX-Request" in response.headers.get("Vary", "")

    everything = visible_text(signed_in.get(url(provider, "?etat=tous")))
    assert "Déjà clos" in everything and "Brouillon secret" not in everything


def test_list_filters_by_opco_theme_region_and_deadline(signed_in, provider, akto, make):
    atlas = make.opco("atlas")
    make.tender(akto, title="Management national")
    make.tender(
        atlas,
        title="Numérique en Bretagne",
        theme_code="32",
        region_code="53",
        submission_deadline=utcnow() + timedelta(days=40),
        questions_deadline=utcnow() + timedelta(days=30),
    )

    def shown(query: str) -> str:
        return visible_text(signed_in.get(url(provider, query)))

    assert "Management national" not in shown(f"?opco={atlas.id}")
    assert "Numérique en Bretagne" in shown(f"?opco={atlas.id}")
    assert "Management national" not in shown("?theme=32")
    page = shown("?region=53")  # national lots are included
    assert "Numérique en Bretagne" in page and "Management national" in page
    page = shown(f"?echeance={(utcnow() + timedelta(days=25)).date().isoformat()}")
    assert "Management national" in page and "Numérique en Bretagne" not in page
    assert "Aucun appel d'offres ne correspond" in shown("?theme=10")
    assert shown("?echeance=pas-une-date&opco=x").count("appels d'offres") >= 1  # unreadable filters ignored


def test_list_answers_htmx_with_the_results_only(signed_in, provider, akto, make):
    make.tender(akto, title="Management AKTO")
    response = signed_in.get(url(provider), headers={"HX-Request": "true", "HX-Target": "resultats"})
    assert response.status_code == 200
    assert "<h1>" not in text(response) and "Management AKTO" in visible_text(response)


def test_list_is_paginated(signed_in, provider, akto, make):
    for i in range(22):
        make.tender(
            akto, title=f"Appel numéro {i:02d}", submission_deadline=utcnow() + timedelta(days=10 + i)
        )
    first = visible_text(signed_in.get(url(provider)))
    assert "Appel numéro 00" in first and "Appel numéro 21" not in first and "Page 1 sur 2" in first
    second = visible_text(signed_in.get(url(provider, "?page=2")))
    assert "Appel numéro 21" in second


def _count_queries(client, path: str) -> int:
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_list_runs_a_constant_number_of_queries(signed_in, provider, akto, make):
    atlas = make.opco("atlas")

    def add(number: int) -> None:
        for i in range(number):
            make.tender(akto if i % 2 else atlas, lots=3, region_code="53" if i % 3 else None)

    add(3)
    signed_in.get(url(provider))  # warm up
    few = _count_queries(signed_in, url(provider))
    add(17)
    many = _count_queries(signed_in, url(provider))
    assert db.session.scalar(select(func.count(Tender.id))) == 20
    assert "20 appels d'offres" in visible_text(signed_in.get(url(provider)))
    assert many == few


# --- Detail ---------------------------------------------------------------------------------------------


def test_detail_shows_what_a_provider_needs_to_answer(signed_in, provider, akto, make):
    tender = make.tender(akto, title="Management de proximité", lots=2, max_price_cents=120_050)
    tenders.add_attachment(tender, "Cahier des charges.pdf", b"%PDF-1.4 cahier", None)
    db.session.commit()

    page = visible_text(signed_in.get(url(provider, f"/{tender.id}")))
    assert "Management de proximité" in page and "AKTO" in page
    assert "1 200,50 € HT" in page
    assert "Valeur technique 40" in page and "Total 100" in page
    assert "Mémoire technique" in page
    assert "il reste 20 jours" in page and "(heure de Paris)" in page
    assert "Cahier des charges.pdf" in page
    assert "Poser une question" in page


def test_a_draft_tender_is_not_found(signed_in, provider, akto, make):
    draft = make.tender(akto, status="draft")
    attachment = tenders.add_attachment(draft, "annexe.pdf", b"%PDF-1.4", None)
    db.session.commit()
    assert signed_in.get(url(provider, f"/{draft.id}")).status_code == 404
    assert signed_in.get(url(provider, f"/{draft.id}/pieces/{attachment.id}")).status_code == 404
    assert signed_in.post(url(provider, f"/{draft.id}/questions"), data={"question": "?"}).status_code == 404
    assert signed_in.get(url(provider, "/999999")).status_code == 404


def test_download_an_attachment_of_a_published_tender(signed_in, provider, akto, make):
    tender = make.tender(akto)
    attachment = tenders.add_attachment(tender, "annexe.pdf", b"%PDF-1.4 annexe", None)
    other = make.tender(akto)
    db.session.commit()
    response = signed_in.get(url(provider, f"/{tender.id}/pieces/{attachment.id}"))
    assert response.status_code == 200 and response.data == b"%PDF-1.4 annexe"
    assert response.mimetype == "application/pdf"
    assert signed_in.get(url(provider, f"/{other.id}/pieces/{attachment.id}")).status_code == 404


def test_after_the_deadline_the_tender_reads_closed_refuses_questions_and_writes_nothing(
    client, login, admin, provider, akto, make
):
    tender = make.tender(akto, questions_deadline=utcnow() + timedelta(days=19))
    with time_machine.travel(tender.submission_deadline + timedelta(minutes=1), tick=False):
        login(client, admin)
        with count_queries() as statements:
            page = visible_text(client.get(url(provider, f"/{tender.id}")))
            listed = visible_text(client.get(url(provider, "?etat=tous")))
            client.get(url(provider))
        asked = client.post(
            url(provider, f"/{tender.id}/questions"), data={"question": "Encore une question ?"}
        )
    assert "Cet appel d'offres est « Clos »" in page
    assert "Poser une question" not in page
    assert "Clos" in listed and tender.title in listed
    assert writes(statements) == []
    assert db.session.get(Tender, tender.id).status == TenderStatus.PUBLISHED
    assert asked.status_code == 422
    assert "Les questions ne sont plus possibles : l'appel d'offres est « Clos »." in visible_text(asked)
    assert db.session.scalar(select(func.count(TenderQuestion.id))) == 0


# --- Questions ------------------------------------------------------------------------------------------


def test_ask_a_question(signed_in, provider, admin, akto, make):
    tender = make.tender(akto)
    response = signed_in.post(
        url(provider, f"/{tender.id}/questions"),
        data={"question": "Le lot peut-il être réalisé en distanciel ?"},
        follow_redirects=True,
    )
    assert flashes(response)[0].startswith("Votre question est transmise à l'OPCO.")
    question = db.session.scalar(select(TenderQuestion))
    assert (question.provider_id, question.asked_by_id) == (provider.id, admin.id)
    page = visible_text(response)
    assert "Le lot peut-il être réalisé en distanciel ?" in page and "En attente de réponse" in page


def test_empty_question_is_refused_next_to_the_field(signed_in, provider, akto, make):
    tender = make.tender(akto)
    response = signed_in.post(url(provider, f"/{tender.id}/questions"), data={"question": "  "})
    assert response.status_code == 422
    assert 'id="question-erreur"' in text(response) and "Écrivez votre question." in visible_text(response)
    assert db.session.scalar(select(func.count(TenderQuestion.id))) == 0


def test_question_after_the_question_deadline_is_refused(client, login, admin, provider, akto, make):
    tender = make.tender(akto)
    with time_machine.travel(tender.questions_deadline + timedelta(hours=1), tick=False):
        login(client, admin)
        page = visible_text(client.get(url(provider, f"/{tender.id}")))
        assert "Poser une question" not in page and "La date limite des questions est passée" in page
        response = client.post(url(provider, f"/{tender.id}/questions"), data={"question": "Trop tard ?"})
    assert response.status_code == 422
    assert "vous ne pouvez plus poser de question" in visible_text(response)
    assert db.session.scalar(select(func.count(TenderQuestion.id))) == 0


def test_published_answers_are_shown_to_others_without_the_asker(app, client, login, akto, make):
    tender = make.tender(akto)
    asker_org = make.provider(name="Organisme Curieux")
    asker = asker_org.memberships[0].user
    reader_org = make.provider(name="Organisme Lecteur")
    public_q = tender_questions.ask_question(tender, asker_org, asker, "Combien de stagiaires par session ?")
    private_q = tender_questions.ask_question(tender, asker_org, asker, "Notre tarif est-il compétitif ?")
    pending_q = tender_questions.ask_question(tender, asker_org, asker, "Question sans réponse encore ?")
    db.session.commit()
    tender_questions.answer_question(public_q, None, "Douze au plus.", publish=True)
    tender_questions.answer_question(private_q, None, "Nous ne commentons pas les offres.", publish=False)
    db.session.commit()

    login(client, reader_org.memberships[0].user)
    page = visible_text(client.get(url(reader_org, f"/{tender.id}")))
    assert "Combien de stagiaires par session ?" in page and "Douze au plus." in page
    assert "Organisme Curieux" not in page and asker.full_name not in page and asker.email not in page
    assert "Notre tarif est-il compétitif ?" not in page and "Nous ne commentons pas" not in page
    assert pending_q.question not in page
    assert "Vous n'avez pas posé de question." in page

    asker_client = app.test_client()
    login(asker_client, asker)
    page = visible_text(asker_client.get(url(asker_org, f"/{tender.id}")))
    assert "Nous ne commentons pas les offres." in page
    assert "Répondue (réponse visible par vous seul)" in page
    assert "Réponse publiée pour tous les organismes" in page
    assert "Question sans réponse encore ?" in page and "En attente de réponse" in page
