"""The response page of a training organisation, used as a person would: draft, upload, submit, withdraw,
result after the award, « Mes réponses », and what other organisations and roles cannot do."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import ResponseDocument, TenderResponse, utcnow
from tests.web.pages import count_queries, flashes, text, visible_text
from tests.web.writes import writes

PDF = b"%PDF-1.4 memoire technique de test"


def stored_files() -> set[Path]:
    root = Path(current_app.config["STORAGE_DIR"])
    return {p for p in root.rglob("*") if p.is_file()}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def tender(make):
    return make.tender(
        make.opco("akto"),
        title="Compétences numériques 2026",
        max_price_cents=150_000,
        required_documents=["technical_proposal", "qualiopi_certificate"],
    )


@pytest.fixture
def lot(tender):
    return tender.lots[0]


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


def page(provider, tender, lot, path: str = "") -> str:
    return f"/of/{provider.slug}/appels-d-offres/{tender.id}/lots/{lot.id}/reponse{path}"


def fields(**changes) -> dict:
    return {
        "action": "save",
        "price_per_trainee": "1 150,00",
        "price_per_group": "",
        "duration_hours": "14",
        "programme": "Jour 1 : fondamentaux.\nJour 2 : mises en situation.",
        "team": "Deux formatrices.",
        **changes,
    }


def upload(client, url, filename="memoire.pdf", data=PDF, kind="technical_proposal"):
    return client.post(
        url + "/documents",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_an_organisation_prepares_submits_withdraws_and_submits_again(
    signed_in, provider, admin, tender, lot, outbox
):
    url = page(provider, tender, lot)
    response = signed_in.get(url)
    assert response.status_code == 200
    seen = visible_text(response)
    assert f"Réponse au lot n° 1 : {lot.title}" in seen
    assert "Compétences numériques 2026" in seen
    assert (
        "Prix maximum 1 500,00 € HT par stagiaire" in seen
    )  # visible_text turns no-break spaces into spaces
    assert "Volumes attendus 4 sessions, 40 stagiaires" in seen
    assert "Mémoire technique : manquante" in seen and "Certificat Qualiopi : manquante" in seen
    assert 'accept=".pdf,.docx,.xlsx,.odt"' in text(response)
    assert 'enctype="multipart/form-data"' in text(response)
    assert count(TenderResponse) == 0  # looking does not start a response

    # Save a draft.
    response = signed_in.post(url, data=fields())
    assert response.status_code == 303
    assert flashes(signed_in.get(url)) == ["Brouillon enregistré. Votre réponse n'est pas encore déposée."]
    saved = db.session.scalar(select(TenderResponse))
    assert (saved.status, saved.price_per_trainee_cents, saved.duration_hours) == ("draft", 115_000, 14)
    assert 'value="1 150,00"' in text(signed_in.get(url))  # the form shows what was saved

    # Try to submit without the documents: the draft is kept, the missing documents are listed.
    response = signed_in.post(url, data=fields(action="submit", duration_hours="15"))
    assert response.status_code == 422
    assert "joignez « Mémoire technique » et « Certificat Qualiopi »" in visible_text(response)
    assert db.session.get(TenderResponse, saved.id).duration_hours == 15

    # Attach both documents (multipart upload).
    response = upload(signed_in, url)
    assert response.status_code == 303
    assert upload(signed_in, url, "qualiopi.pdf", kind="qualiopi_certificate").status_code == 303
    response = signed_in.get(url)
    seen = visible_text(response)
    assert "Mémoire technique : jointe" in seen and "Certificat Qualiopi : jointe" in seen
    assert "« qualiopi.pdf » est joint à votre réponse (Certificat Qualiopi)." in flashes(response)

    # Submit: the draft is saved, then a confirmation explains what happens.
    response = signed_in.post(url, data=fields(action="submit"))
    assert response.status_code == 303 and "confirmer=1" in response.headers["Location"]
    seen = visible_text(signed_in.get(response.headers["Location"]))
    assert "Confirmer le dépôt" in seen
    assert "Une fois déposée, votre réponse ne peut plus être modifiée." in seen
    response = signed_in.post(url + "/deposer")
    assert response.status_code == 303
    submitted = db.session.get(TenderResponse, saved.id)
    assert submitted.status == "submitted"
    local = to_paris(submitted.submitted_at)
    stamp = f"{local:%d/%m/%Y} à {local:%H} h {local:%M}"
    response = signed_in.get(url)
    seen = visible_text(response)
    assert f"Déposée le {stamp}" in seen
    assert "Un accusé de dépôt vous est envoyé par courriel." in flashes(response)[0]
    assert "Enregistrer le brouillon" not in seen and "Joindre le document" not in seen  # read-only
    assert "1 150,00 € HT" in seen and "Retirer" in seen
    [mail] = outbox(admin.email)
    assert mail.subject.startswith("Accusé de dépôt") and f"Déposée le {stamp}" in mail.body_text

    # A submitted response cannot be changed through the page either.
    assert signed_in.post(url, data=fields(price_per_trainee="900")).status_code == 422
    assert upload(signed_in, url, "autre.pdf", kind="other").status_code == 422
    assert db.session.get(TenderResponse, saved.id).price_per_trainee_cents == 115_000
    assert count(ResponseDocument) == 2

    # Withdraw, change the price, submit again.
    response = signed_in.post(url + "/retirer")
    assert response.status_code == 303
    response = signed_in.get(url)
    assert "Votre réponse est retirée" in flashes(response)[0]
    assert "Enregistrer le brouillon" in visible_text(response)
    assert signed_in.post(url, data=fields(action="submit", price_per_trainee="1 100")).status_code == 303
    assert signed_in.post(url + "/deposer").status_code == 303
    again = db.session.get(TenderResponse, saved.id)
    assert (again.status, again.price_per_trainee_cents) == ("submitted", 110_000)
    assert len(outbox(admin.email)) == 2


def test_a_price_above_the_lot_maximum_is_shown_next_to_the_field(signed_in, provider, tender, lot):
    response = signed_in.post(page(provider, tender, lot), data=fields(price_per_trainee="1 600"))
    assert response.status_code == 422
    assert (
        "Le prix par stagiaire (1\u202f600,00\u00a0€ HT) dépasse le prix maximum du lot (1\u202f500,00\u00a0€ HT)."
        in text(response)
    )
    assert 'id="price_per_trainee-erreur"' in text(response)
    assert count(TenderResponse) == 0


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        (
            "virus.exe",
            b"MZ\x90\x00",
            "Le fichier « virus.exe » n'est pas accepté : déposez un document PDF, DOCX, XLSX ou ODT.",
        ),
        (
            "memoire.pdf",
            b"MZ\x90\x00 pas un PDF",
            "Le contenu de « memoire.pdf » ne correspond pas à un fichier PDF",
        ),
        (
            "gros.pdf",
            b"%PDF-1.4 " + b"x" * (2 * 1024 * 1024),
            "Le fichier « gros.pdf » dépasse la taille maximale de 1 Mo.",
        ),
    ],
)
def test_refused_uploads_show_a_french_error_and_store_nothing(
    signed_in, provider, tender, lot, monkeypatch, filename, data, message
):
    monkeypatch.setitem(current_app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    url = page(provider, tender, lot)
    before = stored_files()
    response = upload(signed_in, url, filename, data)
    assert response.status_code == 422
    assert message in visible_text(response)
    assert 'id="file-erreur"' in text(response)
    assert stored_files() == before
    assert count(ResponseDocument) == 0 and count(TenderResponse) == 0


def test_an_upload_without_a_file_asks_for_one(signed_in, provider, tender, lot):
    response = signed_in.post(
        page(provider, tender, lot, "/documents"),
        data={"kind": "technical_proposal"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choisissez le fichier à joindre." in visible_text(response)


def test_documents_are_downloaded_and_removed_by_their_organisation_only(
    app, client, login, make, provider, admin, tender, lot
):
    response_row = make.tender_response(tender, provider, status="draft")
    document_id = response_row.documents[0].id
    other = make.provider(name="Concurrent Formation")
    other_admin = other.memberships[0].user

    login(client, other_admin)
    assert client.get(f"/of/{other.slug}/reponses/documents/{document_id}").status_code == 404
    assert client.post(f"/of/{other.slug}/reponses/documents/{document_id}/supprimer").status_code == 404
    assert client.get(f"/of/{provider.slug}/reponses/documents/{document_id}").status_code == 404
    # The competitor's own page for the same lot shows nothing of this response.
    seen = visible_text(client.get(page(other, tender, lot)))
    assert "1 200,00" not in seen and "technical_proposal.pdf" not in seen
    assert "Aucun document joint pour le moment." in seen
    assert count(ResponseDocument) == 1

    own = app.test_client()
    login(own, admin)
    client = own
    download = client.get(f"/of/{provider.slug}/reponses/documents/{document_id}")
    assert download.status_code == 200
    assert download.data.startswith(b"%PDF")
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    removed = client.post(f"/of/{provider.slug}/reponses/documents/{document_id}/supprimer")
    assert removed.status_code == 303
    assert count(ResponseDocument) == 0
    assert client.get(f"/of/{provider.slug}/reponses/documents/{document_id}").status_code == 404


def test_members_without_the_right_read_but_do_not_write(client, login, make, provider, tender, lot):
    make.tender_response(tender, provider, status="draft")
    trainer = make.user()
    make.member(provider, trainer, "trainer")
    login(client, trainer)
    url = page(provider, tender, lot)
    response = client.get(url)
    assert response.status_code == 200
    assert "Enregistrer le brouillon" not in visible_text(response)
    assert client.post(url, data=fields()).status_code == 403
    assert client.post(url + "/deposer").status_code == 403


def test_draft_tenders_and_lots_of_another_tender_are_not_found(signed_in, make, provider, tender):
    draft = make.tender(make.opco("akto"), status="draft")
    assert signed_in.get(page(provider, draft, draft.lots[0])).status_code == 404
    assert signed_in.get(page(provider, tender, draft.lots[0])).status_code == 404
    assert signed_in.post(page(provider, draft, draft.lots[0]), data=fields()).status_code == 404


def test_after_the_deadline_the_page_explains_and_offers_no_form(signed_in, make, provider):
    past = make.tender(
        make.opco("akto"),
        submission_deadline=utcnow() - timedelta(minutes=5),
        questions_deadline=utcnow() - timedelta(days=3),
    )
    url = page(provider, past, past.lots[0])
    response = signed_in.get(url)
    assert response.status_code == 200
    assert "La date limite de dépôt des réponses était le" in visible_text(response)
    assert "Enregistrer le brouillon" not in visible_text(response)
    assert signed_in.post(url, data=fields()).status_code == 422
    assert count(TenderResponse) == 0


def test_a_complete_draft_cannot_be_submitted_once_the_deadline_has_passed(signed_in, make, provider):
    """The tender still reads « Publié » in the database (nobody ran close-tenders): the clock decides."""
    past = make.tender(
        make.opco("akto"),
        submission_deadline=utcnow() - timedelta(minutes=1),
        questions_deadline=utcnow() - timedelta(days=3),
    )
    draft = make.tender_response(past, provider, status="draft")
    url = page(provider, past, past.lots[0])
    with count_queries() as statements:
        shown = visible_text(signed_in.get(url))
    assert writes(statements) == []
    assert "dépassée" in shown and "Déposer" not in shown
    response = signed_in.post(url + "/deposer")
    assert response.status_code == 422
    assert "les réponses ne peuvent plus être déposées, modifiées ni retirées" in visible_text(response)
    fresh = db.session.get(TenderResponse, draft.id, populate_existing=True)
    assert (fresh.status, fresh.submitted_at) == ("draft", None)
    assert past.status == "published"


def test_the_result_is_shown_after_the_award_and_in_my_responses(signed_in, make, provider):
    opco = make.opco("akto")
    awarded = make.tender(
        opco,
        status="awarded",
        title="Management de proximité",
        submission_deadline=utcnow() - timedelta(days=30),
        questions_deadline=utcnow() - timedelta(days=40),
    )
    won = make.tender_response(awarded, provider, status="retained")
    won.final_score, won.rank = 78.5, 1
    current = make.tender(opco, title="Sécurité au travail")
    make.tender_response(current, provider, status="draft")
    make.tender_response(current, make.provider(), status="submitted")  # someone else's
    db.session.commit()

    seen = visible_text(signed_in.get(page(provider, awarded, awarded.lots[0])))
    assert "Votre réponse est retenue." in seen
    assert "Note 78,5 / 100" in seen and "Rang 1er" in seen

    response = signed_in.get(f"/of/{provider.slug}/reponses")
    assert response.status_code == 200
    seen = visible_text(response)
    assert "Management de proximité" in seen and "Retenue le" in seen and "Note : 78,5 / 100 · rang 1" in seen
    assert "Sécurité au travail" in seen and "Brouillon" in seen
    assert seen.count("Lot n° 1") == 2  # its two responses, not the other organisation's


def test_my_responses_is_empty_at_first(signed_in, provider):
    response = signed_in.get(f"/of/{provider.slug}/reponses")
    assert "Vous n'avez encore répondu à aucun appel d'offres." in visible_text(response)


def test_the_analysis_is_not_shown_before_the_award(signed_in, make, provider):
    tender = make.tender(
        make.opco("akto"),
        status="under_analysis",
        submission_deadline=utcnow() - timedelta(days=2),
        questions_deadline=utcnow() - timedelta(days=9),
    )
    response = make.tender_response(tender, provider, status="inadmissible")
    response.admissibility_reason = "Pièces manquantes."
    db.session.commit()
    seen = visible_text(signed_in.get(page(provider, tender, tender.lots[0])))
    assert "en cours d'analyse par l'OPCO" in seen
    assert "Irrecevable" not in seen and "Pièces manquantes." not in seen
    assert "Retirer" not in seen  # the deadline has passed
    listed = visible_text(signed_in.get(f"/of/{provider.slug}/reponses"))
    assert "Déposée" in listed and "Irrecevable" not in listed
