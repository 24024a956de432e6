"""A training organisation's response to a lot: draft, documents, submission before the deadline, withdrawal,
who may read the documents, and the « Mes réponses » list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask import current_app
from sqlalchemy import event, func, select

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import AuditEvent, ResponseDocument, TenderResponse, utcnow
from marketplace.services import tender_response_reads as reads
from marketplace.services import tender_responses as service
from marketplace.services.errors import DomainError
from marketplace.services.tender_responses import LOCKED_MESSAGE, ResponseInput

PDF = b"%PDF-1.4 memoire technique"
COMPLETE = ResponseInput(
    price_per_trainee="1 150,00",
    price_per_group="9 200",
    duration_hours="14",
    programme="Jour 1 : fondamentaux.\nJour 2 : mises en situation.",
    team="Deux formatrices certifiées.",
)


def stored_files() -> set[Path]:
    root = Path(current_app.config["STORAGE_DIR"])
    return {p for p in root.rglob("*") if p.is_file()}


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


@pytest.fixture
def tender(make):
    return make.tender(make.opco("akto"), max_price_cents=150_000, required_documents=["technical_proposal"])


@pytest.fixture
def lot(tender):
    return tender.lots[0]


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def actor(provider):
    return provider.memberships[0].user


def started(tender, lot, provider, actor, data=COMPLETE):
    """A saved draft with the given fields (committed)."""
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    service.save_draft(response, data, actor, utcnow())
    db.session.commit()
    return response


def ready(tender, lot, provider, actor):
    """A complete draft with its technical proposal, ready to submit."""
    response = started(tender, lot, provider, actor)
    service.add_document(response, "technical_proposal", "memoire.pdf", PDF, actor, utcnow())
    db.session.commit()
    return response


# --- Draft ---------------------------------------------------------------------------------------------


def test_a_draft_is_created_on_first_save_then_edited(tender, lot, provider, actor):
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    assert service.is_new(response)
    assert db.session.scalar(select(func.count(TenderResponse.id))) == 0  # looking does not create anything

    service.save_draft(response, ResponseInput(price_per_trainee="1 150,00"), actor, utcnow())
    db.session.commit()
    assert response.status == "draft"
    assert response.price_per_trainee_cents == 115_000
    assert response.duration_hours is None and response.programme == ""  # a draft may be incomplete
    assert response.opco_id == tender.opco_id

    again = service.get_or_start(tender, lot, provider, actor, utcnow())
    assert again.id == response.id
    service.save_draft(again, COMPLETE, actor, utcnow())
    db.session.commit()
    assert db.session.scalar(select(func.count(TenderResponse.id))) == 1
    assert (again.price_per_group_cents, again.duration_hours) == (920_000, 14)
    assert [e.data["fields"] for e in events("tender_response.draft_saved")][-1] == [
        "duration_hours",
        "price_per_group_cents",
        "programme",
        "team",
    ]
    assert len(events("tender_response.started")) == 1


def test_one_response_per_lot_and_organisation_even_when_two_first_saves_cross(tender, lot, provider, actor):
    first = service.get_or_start(tender, lot, provider, actor, utcnow())
    second = service.get_or_start(tender, lot, provider, actor, utcnow())  # another tab, same moment
    service.save_draft(first, COMPLETE, actor, utcnow())
    db.session.commit()
    with pytest.raises(DomainError, match="déjà commencé une réponse à ce lot"):
        service.save_draft(second, COMPLETE, actor, utcnow())


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (ResponseInput(price_per_trainee="mille euros"), "price_per_trainee", "montant en euros"),
        (ResponseInput(price_per_trainee="0"), "price_per_trainee", "supérieur à 0"),
        (
            ResponseInput(price_per_group="0,00"),
            "price_per_group",
            "Le prix par groupe doit être supérieur à 0",
        ),
        (ResponseInput(duration_hours="0"), "duration_hours", "au moins une heure"),
        (ResponseInput(duration_hours="7,5"), "duration_hours", "nombre entier d'heures"),
    ],
)
def test_values_typed_must_be_positive_numbers(tender, lot, provider, actor, data, field, message):
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    with pytest.raises(DomainError, match=message) as refused:
        service.save_draft(response, data, actor, utcnow())
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count(TenderResponse.id))) == 0


def test_a_price_above_the_lot_maximum_is_refused_with_both_amounts(tender, lot, provider, actor):
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    with pytest.raises(DomainError) as refused:
        service.save_draft(response, ResponseInput(price_per_trainee="1 600"), actor, utcnow())
    assert refused.value.field == "price_per_trainee"
    assert refused.value.message == (
        "Le prix par stagiaire (1\u202f600,00\u00a0€ HT) dépasse le prix maximum du lot (1\u202f500,00\u00a0€ HT)."
    )
    # Exactly the maximum is fine.
    service.save_draft(response, ResponseInput(price_per_trainee="1 500,00"), actor, utcnow())


def test_no_response_can_be_started_after_the_deadline_or_on_a_tender_not_published(make, provider, actor):
    opco = make.opco("akto")
    past = make.tender(
        opco,
        submission_deadline=utcnow() - timedelta(hours=1),
        questions_deadline=utcnow() - timedelta(days=2),
    )
    with pytest.raises(DomainError) as refused:
        service.get_or_start(past, past.lots[0], provider, actor, utcnow())
    local = to_paris(past.submission_deadline)
    assert f"La date limite de dépôt des réponses était le {local:%d/%m/%Y} à {local:%H}h{local:%M}" in (
        refused.value.message
    )
    closed = make.tender(opco, status="closed")
    with pytest.raises(DomainError, match="n'accepte plus de réponses"):
        service.get_or_start(closed, closed.lots[0], provider, actor, utcnow())
    other = make.tender(opco)
    with pytest.raises(DomainError, match="n'appartient pas"):
        service.get_or_start(other, closed.lots[0], provider, actor, utcnow())


def test_lots_of_draft_tenders_are_never_reachable(make):
    opco = make.opco("akto")
    draft = make.tender(opco, status="draft")
    published = make.tender(opco, lots=2)
    assert reads.visible_lot(draft.id, draft.lots[0].id) is None
    assert reads.visible_lot(published.id, draft.lots[0].id) is None  # a lot of another tender
    assert reads.visible_lot(published.id, published.lots[1].id) == (published, published.lots[1])


# --- Submission --------------------------------------------------------------------------------------------


def test_submission_is_timestamped_audited_and_acknowledged_by_email(tender, lot, provider, actor, outbox):
    response = ready(tender, lot, provider, actor)
    now = utcnow()
    service.submit(response, actor, now)
    db.session.commit()
    assert response.status == "submitted"
    assert response.submitted_at == now
    assert [e.data for e in events("tender_response.submit")] == [{"from": "draft", "to": "submitted"}]
    [mail] = outbox(actor.email)
    assert mail.subject == f"Accusé de dépôt : {tender.reference} – {lot.title}"
    local = to_paris(now)
    assert f"Déposée le {local:%d/%m/%Y} à {local:%H} h {local:%M} (heure de Paris)" in mail.body_text
    assert "Prix par stagiaire : 1\u202f150,00\u00a0€ HT" in mail.body_text
    assert "Mémoire technique : memoire.pdf" in mail.body_text
    assert f"/of/{provider.slug}/appels-d-offres/{tender.id}/lots/{lot.id}/reponse" in mail.body_text


def test_submission_after_the_deadline_is_refused_even_while_the_tender_is_still_published(
    make, provider, actor, outbox
):
    tender = make.tender(make.opco("akto"), submission_deadline=utcnow() + timedelta(days=1))
    response = ready(tender, tender.lots[0], provider, actor)
    with time_machine.travel(tender.submission_deadline + timedelta(minutes=1), tick=False):
        assert tender.status == "published"  # nobody has closed it yet
        with pytest.raises(DomainError, match="La date limite de dépôt des réponses était le"):
            service.submit(response, actor, utcnow())
        with pytest.raises(DomainError, match="La date limite"):
            service.save_draft(response, COMPLETE, actor, utcnow())
    db.session.rollback()
    assert response.status == "draft" and response.submitted_at is None
    assert outbox() == []
    # One second before the deadline it still goes through.
    with time_machine.travel(tender.submission_deadline - timedelta(seconds=1), tick=False):
        service.submit(response, actor, utcnow())
    assert response.status == "submitted"


def test_missing_fields_and_required_documents_are_listed_in_french(make, provider, actor):
    tender = make.tender(
        make.opco("akto"), required_documents=["technical_proposal", "qualiopi_certificate", "price_grid"]
    )
    lot = tender.lots[0]
    response = started(tender, lot, provider, actor, ResponseInput(price_per_trainee="1 000"))
    service.add_document(response, "technical_proposal", "memoire.pdf", PDF, actor, utcnow())
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        service.submit(response, actor, utcnow())
    assert refused.value.message == (
        "Avant de déposer votre réponse, complétez la durée proposée, le programme proposé et l'équipe "
        "pédagogique et joignez « Certificat Qualiopi » et « Bordereau de prix »."
    )
    assert response.status == "draft"


def test_a_submitted_response_cannot_be_edited_nor_its_documents_changed(tender, lot, provider, actor):
    response = ready(tender, lot, provider, actor)
    service.submit(response, actor, utcnow())
    db.session.commit()
    files = stored_files()
    with pytest.raises(DomainError) as refused:
        service.save_draft(response, ResponseInput(price_per_trainee="900"), actor, utcnow())
    assert refused.value.message == LOCKED_MESSAGE
    with pytest.raises(DomainError, match="Une réponse déposée ne peut plus être modifiée"):
        service.add_document(response, "other", "annexe.pdf", PDF, actor, utcnow())
    with pytest.raises(DomainError, match="Une réponse déposée ne peut plus être modifiée"):
        service.remove_document(response.documents[0], actor, utcnow())
    with pytest.raises(DomainError, match="déjà déposée"):
        service.submit(response, actor, utcnow())
    db.session.rollback()
    assert response.price_per_trainee_cents == 115_000
    assert [d.filename for d in response.documents] == ["memoire.pdf"]
    assert stored_files() == files


def test_withdraw_then_edit_and_submit_again_before_the_deadline(tender, lot, provider, actor, outbox):
    response = ready(tender, lot, provider, actor)
    service.submit(response, actor, utcnow())
    db.session.commit()
    service.withdraw(response, actor, utcnow())
    db.session.commit()
    assert response.status == "withdrawn" and response.submitted_at is None

    service.save_draft(
        response, ResponseInput(**{**COMPLETE.__dict__, "price_per_trainee": "1 090"}), actor, utcnow()
    )
    service.add_document(response, "trainer_cvs", "cv.pdf", PDF, actor, utcnow())
    db.session.commit()
    service.submit(response, actor, utcnow())
    db.session.commit()
    assert response.status == "submitted" and response.price_per_trainee_cents == 109_000
    assert [e.data["to"] for e in events("tender_response.submit") + events("tender_response.withdraw")] == [
        "submitted",
        "submitted",
        "withdrawn",
    ]
    assert len(outbox(actor.email)) == 2  # one acknowledgement per submission


def test_withdrawing_after_the_deadline_is_refused(make, provider, actor):
    tender = make.tender(make.opco("akto"), submission_deadline=utcnow() + timedelta(hours=2))
    response = ready(tender, tender.lots[0], provider, actor)
    service.submit(response, actor, utcnow())
    db.session.commit()
    with (
        time_machine.travel(tender.submission_deadline, tick=False),
        pytest.raises(DomainError, match="retirées"),
    ):
        service.withdraw(response, actor, utcnow())


# --- Documents ---------------------------------------------------------------------------------------------


def test_documents_are_added_and_removed_while_editable(tender, lot, provider, actor):
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    document = service.add_document(
        response, "qualiopi_certificate", "Certificat Qualiopi été.pdf", PDF, actor, utcnow()
    )
    db.session.commit()
    assert response.id is not None  # the first upload saves the draft
    assert (document.kind, document.filename, document.content_type, document.size) == (
        "qualiopi_certificate",
        "Certificat Qualiopi ete.pdf",
        "application/pdf",
        len(PDF),
    )
    path = Path(current_app.config["STORAGE_DIR"]) / document.storage_key[:2] / document.storage_key
    assert path.read_bytes() == PDF
    assert events("tender_response.document_added")[0].data["filename"] == "Certificat Qualiopi ete.pdf"

    service.remove_document(document, actor, utcnow())
    assert path.exists()  # the file goes only once the removal is committed
    db.session.commit()
    assert not path.exists()
    assert db.session.scalar(select(func.count(ResponseDocument.id))) == 0
    assert len(events("tender_response.document_removed")) == 1


def test_a_file_whose_transaction_rolls_back_is_deleted(tender, lot, provider, actor):
    response = started(tender, lot, provider, actor)
    before = stored_files()
    service.add_document(response, "technical_proposal", "memoire.pdf", PDF, actor, utcnow())
    assert len(stored_files() - before) == 1
    db.session.rollback()
    assert stored_files() == before
    assert db.session.scalar(select(func.count(ResponseDocument.id))) == 0


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("installer.exe", b"MZ\x90\x00", "n'est pas accepté : déposez un document PDF, DOCX, XLSX ou ODT"),
        ("memoire.pdf", b"MZ\x90\x00 not a pdf", "ne correspond pas à un fichier PDF"),
        ("memoire.pdf", b"%PDF-1.4 " + b"x" * 2048, "dépasse la taille maximale"),
        ("vide.pdf", b"", "est vide"),
    ],
)
def test_refused_uploads_store_nothing(tender, lot, provider, actor, monkeypatch, filename, data, message):
    monkeypatch.setitem(current_app.config, "UPLOAD_MAX_BYTES", 1024)
    response = service.get_or_start(tender, lot, provider, actor, utcnow())
    before = stored_files()
    with pytest.raises(DomainError, match=message) as refused:
        service.add_document(response, "technical_proposal", filename, data, actor, utcnow())
    assert refused.value.field == "file"
    db.session.rollback()
    assert stored_files() == before
    assert db.session.scalar(select(func.count(ResponseDocument.id))) == 0
    assert db.session.scalar(select(func.count(TenderResponse.id))) == 0  # nor an empty draft


def test_an_unknown_document_kind_is_refused(tender, lot, provider, actor):
    response = started(tender, lot, provider, actor)
    before = stored_files()
    with pytest.raises(DomainError, match="type de document"):
        service.add_document(response, "kbis", "kbis.pdf", PDF, actor, utcnow())
    assert stored_files() == before


# --- Who reads the documents --------------------------------------------------------------------------------


def test_documents_are_read_by_their_organisation_and_by_the_opco_only_after_the_deadline(
    make, actor, provider
):
    akto, atlas = make.opco("akto"), make.opco("atlas")
    tender = make.tender(akto, submission_deadline=utcnow() + timedelta(days=3))
    response = make.tender_response(tender, provider)
    document_id = response.documents[0].id
    other_provider = make.provider()
    now = utcnow()

    assert reads.readable_document(document_id, provider=provider, now=now).id == document_id
    assert reads.readable_document(document_id, provider=other_provider, now=now) is None
    assert reads.readable_document(document_id, opco=akto, now=now) is None  # before the deadline
    assert reads.readable_document(document_id, opco=atlas, now=now) is None
    assert reads.readable_document(document_id, now=now) is None
    assert reads.readable_document(10_000_000, provider=provider, now=now) is None

    after = tender.submission_deadline + timedelta(seconds=1)
    assert reads.readable_document(document_id, opco=akto, now=after).id == document_id
    assert reads.readable_document(document_id, opco=atlas, now=after) is None
    assert reads.readable_document(document_id, provider=other_provider, now=after) is None
    assert reads.read_document(reads.readable_document(document_id, opco=akto, now=after)).startswith(b"%PDF")


def test_the_opco_never_reads_a_response_that_was_not_submitted(make, provider):
    akto = make.opco("akto")
    tender = make.tender(akto, submission_deadline=utcnow() + timedelta(days=1))
    draft = make.tender_response(tender, provider, status="draft")
    withdrawn = make.tender_response(tender, make.provider(), status="withdrawn")
    after = tender.submission_deadline + timedelta(days=1)
    assert reads.readable_document(draft.documents[0].id, opco=akto, now=after) is None
    assert reads.readable_document(withdrawn.documents[0].id, opco=akto, now=after) is None
    assert reads.readable_document(draft.documents[0].id, provider=provider, now=after) is not None


# --- Mes réponses --------------------------------------------------------------------------------------------


def test_my_responses_list_shows_results_once_awarded_in_constant_queries(make, provider):
    opco = make.opco("akto")
    open_tender = make.tender(opco, lots=2, title="Numérique")
    awarded = make.tender(
        opco,
        status="awarded",
        title="Management",
        lots=2,
        submission_deadline=utcnow() - timedelta(days=30),
        questions_deadline=utcnow() - timedelta(days=40),
    )
    other_provider = make.provider()
    make.tender_response(open_tender, provider, status="draft")
    won = make.tender_response(awarded, provider, status="retained")
    lost = make.tender_response(awarded, provider, lot=awarded.lots[1], status="not_retained")
    make.tender_response(awarded, other_provider, status="retained")
    for response, score, rank in ((won, 81.25, 1), (lost, 62.5, 3)):
        response.final_score, response.rank = score, rank
    db.session.commit()
    db.session.expire_all()
    assert provider.id  # loaded before counting

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        summaries = reads.provider_responses(provider)
        rendered = [
            (
                s.tender.title,
                s.tender.opco.name,
                s.lot.number,
                s.status_label,
                s.result and (s.result.retained, s.result.score_label, s.result.rank),
            )
            for s in summaries
        ]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert rendered == [
        ("Numérique", opco.name, 1, "Brouillon", None),
        ("Management", opco.name, 1, "Retenue", (True, "81,3", 1)),
        ("Management", opco.name, 2, "Non retenue", (False, "62,5", 3)),
    ]
    assert len(statements) == 1
    assert reads.provider_responses(make.provider()) == []


def test_the_opco_analysis_stays_internal_until_the_award(make, provider):
    tender = make.tender(
        make.opco("akto"),
        status="under_analysis",
        submission_deadline=utcnow() - timedelta(days=2),
        questions_deadline=utcnow() - timedelta(days=9),
    )
    response = make.tender_response(tender, provider, status="inadmissible")
    response.admissibility_reason = "Certificat Qualiopi expiré à la date limite."
    db.session.commit()
    assert reads.shown_status(response) == ("submitted", "Déposée")
    assert reads.result_of(response) is None

    tender.status = "awarded"  # written by the evaluation service in real life
    db.session.commit()
    assert reads.shown_status(response) == ("inadmissible", "Irrecevable")
    assert reads.result_of(response) == reads.ResponseResult(
        retained=False, final_score=None, rank=None, reason="Certificat Qualiopi expiré à la date limite."
    )
