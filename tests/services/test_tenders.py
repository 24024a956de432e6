"""Calls for tenders on the OPCO's side: validation, the tender state machine, closing at the deadline,
questions and answers, attachments, and what training organisations may list."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    Tender,
    TenderAttachment,
    TenderLot,
    TenderQuestion,
    TenderStatus,
    utcnow,
)
from marketplace.services import tender_listing, tender_questions, tenders
from marketplace.services.errors import DomainError
from marketplace.services.tender_inputs import CriterionInput, InvalidTender, LotInput, TenderInput
from marketplace.services.tender_states import TENDER, effective_status, tender_transition

T = TenderStatus
# A winter day (Paris = UTC+1) far enough ahead for every deadline to be in the future.
NEXT_YEAR = paris_today().year + 1


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def buyer(make, akto):
    user = make.user(full_name="Bruno Acheteur")
    make.member(akto, user, "tender_manager")
    return user


def valid_input(**changes) -> TenderInput:
    data = TenderInput(
        title="Formations au management de proximité",
        reference="AO-2026-01",
        context="Les branches veulent renouveler leur offre.",
        specification="Public : chefs d'équipe. Modalités : présentiel.",
        questions_deadline=datetime(NEXT_YEAR, 1, 10, 12, 0),
        submission_deadline=datetime(NEXT_YEAR, 1, 20, 12, 0),
        expected_award_date=date(NEXT_YEAR, 2, 15),
        multi_award=True,
        required_documents=["technical_proposal", "qualiopi_certificate"],
        lots=[
            LotInput("Management – Île-de-France", "31", "11", "4", "40", "1 200,50", "14"),
            LotInput("Management – national", "31", None, 10, 100, "1 100", None),
        ],
        criteria=[
            CriterionInput("Valeur technique", "40"),
            CriterionInput("Équipe et moyens", "20"),
            CriterionInput("Prix", "30"),
            CriterionInput("RSE", "10"),
        ],
    )
    return replace(data, **changes)


def tender_count() -> int:
    return db.session.scalar(select(func.count(Tender.id)))


def audit_actions(obj=None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if obj is not None:
        query = query.where(AuditEvent.object_type == type(obj).__name__, AuditEvent.object_id == obj.id)
    return list(db.session.scalars(query))


# --- Building a tender ----------------------------------------------------------------------------------


def test_create_tender_saves_a_draft_with_lots_criteria_and_utc_deadlines(akto, buyer):
    tender = tenders.create_tender(akto, valid_input(), buyer)
    db.session.commit()

    assert tender.status == T.DRAFT
    # 12h00 in Paris in January is 11h00 UTC.
    assert tender.questions_deadline == datetime(NEXT_YEAR, 1, 10, 11, 0)
    assert tender.submission_deadline == datetime(NEXT_YEAR, 1, 20, 11, 0)
    assert [
        (lot.number, lot.region_code, lot.max_price_cents, lot.duration_hours) for lot in tender.lots
    ] == [
        (1, "11", 120_050, 14),
        (2, None, 110_000, None),
    ]
    assert tender.lots[1].scope_label == "National"
    assert [(c.label, c.weight) for c in tender.criteria] == [
        ("Valeur technique", 40),
        ("Équipe et moyens", 20),
        ("Prix", 30),
        ("RSE", 10),
    ]
    assert tender.required_documents == ["technical_proposal", "qualiopi_certificate"]
    assert audit_actions(tender) == ["tender.created"]


def test_summer_deadline_is_converted_with_summer_time():
    assert tenders.paris_to_utc(datetime(2026, 7, 1, 12, 0)) == datetime(2026, 7, 1, 10, 0)
    assert tenders.utc_to_paris(datetime(2026, 7, 1, 10, 0)) == datetime(2026, 7, 1, 12, 0)


def test_weights_not_totalling_100_are_refused_at_save_and_nothing_is_saved(akto, buyer):
    data = valid_input(criteria=[CriterionInput("Valeur technique", "60"), CriterionInput("Prix", "30")])
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, data, buyer)
    db.session.rollback()

    assert (
        refused.value.errors["criteria"]
        == "Les pondérations des critères totalisent 90 : elles doivent totaliser 100."
    )
    assert tender_count() == 0


def test_weights_must_be_whole_numbers(akto, buyer):
    data = valid_input(criteria=[CriterionInput("Valeur technique", "60,5"), CriterionInput("Prix", "39,5")])
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, data, buyer)
    assert "nombre entier" in refused.value.errors["criteria-0-weight"]


def test_every_wrong_field_is_reported_at_once(akto, buyer, make):
    other_opco_action = make.action(make.opco("atlas"))
    data = valid_input(
        title="",
        lots=[
            LotInput("", "99", "00", "zéro", "0", "gratuit", "-3", str(other_opco_action.id)),
        ],
        criteria=[CriterionInput("", "0")],
    )
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, data, buyer)
    errors = refused.value.errors
    assert errors["title"] == "Indiquez l'intitulé de l'appel d'offres."
    for name in (
        "title",
        "theme_code",
        "region_code",
        "expected_sessions",
        "expected_trainees",
        "max_price",
        "duration_hours",
        "action_id",
    ):
        assert errors[f"lots-0-{name}"].startswith("Lot 1 : "), name
    assert (
        errors["lots-0-max_price"]
        == "Lot 1 : le prix maximum par stagiaire doit être un montant en euros, par exemple 1 200,50."
    )
    assert errors["lots-0-action_id"] == "Lot 1 : choisissez une action collective de votre catalogue."
    assert errors["criteria-0-label"] and errors["criteria-0-weight"]


def test_at_least_one_lot_and_one_criterion(akto, buyer):
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, valid_input(lots=[], criteria=[]), buyer)
    assert refused.value.errors["lots"] == "Décrivez au moins un lot (intitulé, thème, prix maximum)."
    assert (
        refused.value.errors["criteria"] == "Indiquez au moins un critère d'évaluation, avec sa pondération."
    )


def test_deadlines_order_and_award_date_after_the_deadline(akto, buyer):
    data = valid_input(
        questions_deadline=datetime(NEXT_YEAR, 1, 25, 12, 0),
        submission_deadline=datetime(NEXT_YEAR, 1, 20, 12, 0),
        expected_award_date=date(NEXT_YEAR, 1, 20),
    )
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, data, buyer)
    assert refused.value.errors["questions_deadline"] == (
        "La date limite des questions doit précéder la date limite de dépôt des réponses."
    )
    assert refused.value.errors["expected_award_date"] == (
        f"La date d'attribution prévue doit être postérieure à la date limite de dépôt (20/01/{NEXT_YEAR})."
    )


def test_reference_is_unique_per_opco_only(akto, buyer, make):
    tenders.create_tender(akto, valid_input(), buyer)
    db.session.commit()
    with pytest.raises(InvalidTender) as refused:
        tenders.create_tender(akto, valid_input(reference="ao-2026-01"), buyer)
    assert (
        refused.value.errors["reference"]
        == "La référence « ao-2026-01 » est déjà utilisée par un autre de vos appels d'offres."
    )
    db.session.rollback()
    atlas = make.opco("atlas")
    assert tenders.create_tender(atlas, valid_input(), None).reference == "AO-2026-01"


def test_a_lot_may_name_an_action_of_the_same_opco(akto, buyer, make):
    action = make.action(akto, title="Manager une équipe")
    data = valid_input(lots=[LotInput("Lot unique", "31", None, 2, 20, "900", 14, str(action.id))])
    tender = tenders.create_tender(akto, data, buyer)
    assert tender.lots[0].action_id == action.id


def test_update_a_draft_keeps_and_trims_rows(akto, buyer):
    tender = tenders.create_tender(akto, valid_input(), buyer)
    db.session.commit()
    first_lot_id = tender.lots[0].id
    data = valid_input(
        title="Management — version 2",
        lots=[LotInput("Management – Île-de-France", "31", "11", 5, 50, "1 000", 21)],
        criteria=[CriterionInput("Valeur technique", 70), CriterionInput("Prix", 30)],
    )
    tenders.update_tender(tender, data, buyer)
    db.session.commit()

    db.session.expire_all()
    tender = db.session.get(Tender, tender.id)
    assert tender.title == "Management — version 2"
    assert [lot.id for lot in tender.lots] == [first_lot_id]
    assert tender.lots[0].max_price_cents == 100_000
    assert [(c.label, c.weight) for c in tender.criteria] == [("Valeur technique", 70), ("Prix", 30)]
    assert db.session.scalar(select(func.count(TenderLot.id))) == 1
    assert audit_actions(tender) == ["tender.created", "tender.updated"]


def test_only_a_draft_can_be_changed(make, akto, buyer):
    tender = make.tender(akto, status="published")
    with pytest.raises(DomainError) as refused:
        tenders.update_tender(tender, valid_input(), buyer)
    assert (
        refused.value.message
        == "Seul un appel d'offres en brouillon peut être modifié : celui-ci est « Publié »."
    )


# --- The state machine ----------------------------------------------------------------------------------

ALLOWED = {
    ("draft", "publish"): "published",
    ("published", "close"): "closed",
    ("closed", "start_analysis"): "under_analysis",
    ("under_analysis", "award"): "awarded",
    ("closed", "declare_unsuccessful"): "unsuccessful",
    ("under_analysis", "declare_unsuccessful"): "unsuccessful",
}
STATES = list(T.LABELS)
EVENTS = ["publish", "close", "start_analysis", "award", "declare_unsuccessful"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_tender_transition_is_allowed_or_refused_by_the_machine(make, akto, buyer, state, event):
    tender = make.tender(akto, status=state)
    if (state, event) in ALLOWED:
        assert tender_transition(tender, event, buyer) == state
        assert tender.status == ALLOWED[(state, event)]
        assert audit_actions(tender)[-1] == f"tender.{event}"
    else:
        with pytest.raises(DomainError) as refused:
            tender_transition(tender, event, buyer)
        assert refused.value.message.startswith("Action impossible : ")
        assert f"« {T.LABELS[state]} »" in refused.value.message
        assert tender.status == state
    assert TENDER.can(state, event) == ((state, event) in ALLOWED)


def test_publish_a_complete_draft(make, akto, buyer):
    tender = make.tender(akto, status="draft")
    tenders.publish(tender, buyer, utcnow())
    db.session.commit()
    assert tender.status == T.PUBLISHED
    assert tender.published_at is not None
    assert audit_actions(tender) == ["tender.publish"]


def test_publish_refuses_weights_not_totalling_100_and_changes_nothing(make, akto, buyer):
    tender = make.tender(akto, status="draft", criteria=[("Valeur technique", 50), ("Prix", 40)])
    with pytest.raises(DomainError) as refused:
        tenders.publish(tender, buyer, utcnow())
    db.session.rollback()
    assert refused.value.message == (
        "Publication impossible. Les pondérations des critères totalisent 90 : elles doivent totaliser 100."
    )
    db.session.expire_all()
    assert db.session.get(Tender, tender.id).status == T.DRAFT
    assert audit_actions(tender) == []


def test_publish_refuses_deadlines_in_the_past_or_missing(make, akto, buyer):
    now = utcnow()
    tender = make.tender(
        akto,
        status="draft",
        questions_deadline=now - timedelta(days=1),
        submission_deadline=now - timedelta(hours=1),
    )
    with pytest.raises(DomainError) as refused:
        tenders.publish(tender, buyer, now)
    assert "La date limite des questions" in refused.value.message and "est passée" in refused.value.message
    assert "La date limite de dépôt" in refused.value.message
    assert tender.status == T.DRAFT

    tender.questions_deadline = None
    tender.submission_deadline = None
    with pytest.raises(DomainError) as refused:
        tenders.publish(tender, buyer, now)
    assert "Fixez la date limite des questions." in refused.value.message
    assert "Fixez la date limite de dépôt des réponses." in refused.value.message


def test_publish_twice_is_refused_by_the_machine(make, akto, buyer):
    tender = make.tender(akto, status="published")
    with pytest.raises(DomainError) as refused:
        tenders.publish(tender, buyer, utcnow())
    assert refused.value.message == (
        "Action impossible : « Publier l'appel d'offres » n'est pas possible quand l'état est « Publié »."
    )


def test_close_due_tenders_closes_at_the_deadline(make, akto):
    deadline = datetime(NEXT_YEAR, 3, 2, 11, 0)  # 12h00 in Paris
    due = make.tender(akto, submission_deadline=deadline, questions_deadline=deadline - timedelta(days=5))
    later = make.tender(akto, submission_deadline=deadline + timedelta(days=1))
    draft = make.tender(akto, status="draft", submission_deadline=deadline - timedelta(days=1))

    with time_machine.travel(deadline - timedelta(minutes=1), tick=False):
        assert tenders.close_due_tenders() == 0
    with time_machine.travel(deadline, tick=False):
        assert tenders.close_due_tenders() == 1
        db.session.commit()
    with time_machine.travel(deadline + timedelta(hours=1), tick=False):
        assert tenders.close_due_tenders() == 0  # nothing closes twice

    db.session.expire_all()
    assert db.session.get(Tender, due.id).status == T.CLOSED
    assert db.session.get(Tender, due.id).closed_at == deadline
    assert db.session.get(Tender, later.id).status == T.PUBLISHED
    assert db.session.get(Tender, draft.id).status == T.DRAFT
    assert audit_actions(due) == ["tender.close"]


def test_close_tenders_command(app, make, akto, cli):
    now = utcnow()
    tender = make.tender(
        akto, submission_deadline=now - timedelta(minutes=5), questions_deadline=now - timedelta(days=1)
    )
    result = cli("close-tenders")
    assert result.exit_code == 0, result.output
    assert "1 appel d'offres clos." in result.output
    assert db.session.get(Tender, tender.id).status == T.CLOSED


def test_refresh_status_writes_the_close_once_for_a_post_that_needs_it(make, akto):
    tender = make.tender(akto)
    with time_machine.travel(tender.submission_deadline + timedelta(seconds=1), tick=False):
        assert tenders.refresh_status(tender) is True
        assert tenders.refresh_status(tender) is False
    assert tender.status == T.CLOSED


def test_a_tender_past_its_deadline_reads_closed_and_nothing_is_written(make, akto):
    tender = make.tender(akto)
    deadline = tender.submission_deadline
    assert effective_status(tender, deadline - timedelta(seconds=1)) == T.PUBLISHED
    assert effective_status(tender, deadline) == T.CLOSED
    provider = make.provider()
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        assert tender_listing.tender_for_provider(tender.id) == tender
        assert tender_listing.opco_tenders(akto.id, T.CLOSED) == [tender]
        assert tender_listing.opco_tenders(akto.id, T.PUBLISHED) == []
        assert tender_listing.status_counts(akto.id) == {T.CLOSED: 1}
        assert tender_listing.published_tenders(tender_listing.TenderFilters()).total == 0
        assert [
            t.id
            for t in tender_listing.published_tenders(tender_listing.TenderFilters(only_open=False)).items
        ] == [tender.id]
        assert not db.session.dirty and not db.session.new
        with pytest.raises(DomainError) as refused:
            tender_questions.ask_question(tender, provider, None, "Encore une question ?")
    assert refused.value.message == "Les questions ne sont plus possibles : l'appel d'offres est « Clos »."
    db.session.rollback()
    assert db.session.get(Tender, tender.id).status == T.PUBLISHED
    assert audit_actions(tender) == []


def test_start_analysis_closes_first_when_the_deadline_has_just_passed(make, akto, buyer):
    tender = make.tender(akto)
    with time_machine.travel(tender.submission_deadline + timedelta(minutes=1), tick=False):
        tenders.start_analysis(tender, buyer, utcnow())
    assert tender.status == T.UNDER_ANALYSIS
    assert audit_actions(tender) == ["tender.close", "tender.start_analysis"]


def test_start_analysis_refused_before_the_deadline(make, akto, buyer):
    tender = make.tender(akto)
    with pytest.raises(DomainError) as refused:
        tenders.start_analysis(tender, buyer, utcnow())
    assert "« Publié »" in refused.value.message
    assert tender.status == T.PUBLISHED


def test_declare_unsuccessful_needs_a_reason_and_marks_the_lots(make, akto, buyer):
    tender = make.tender(akto, status="closed", lots=2)
    with pytest.raises(DomainError) as refused:
        tenders.declare_unsuccessful(tender, buyer, "  ")
    assert refused.value.message == "Indiquez pourquoi l'appel d'offres est déclaré infructueux."
    tenders.declare_unsuccessful(tender, buyer, "Aucune réponse recevable")
    assert tender.status == T.UNSUCCESSFUL
    assert {lot.status for lot in tender.lots} == {"unsuccessful"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tender.declare_unsuccessful"))
    assert event.data["reason"] == "Aucune réponse recevable"


# --- Questions and answers ------------------------------------------------------------------------------


def test_question_until_the_question_deadline_only(make, akto):
    provider = make.provider()
    asker = provider.memberships[0].user
    tender = make.tender(akto)
    question = tender_questions.ask_question(
        tender, provider, asker, "  Le lot 1 est-il ouvert au distanciel ?  ", utcnow()
    )
    db.session.commit()
    assert question.question == "Le lot 1 est-il ouvert au distanciel ?"
    assert audit_actions(question) == ["tender.question_asked"]

    late = tender.questions_deadline + timedelta(minutes=1)
    with time_machine.travel(late, tick=False), pytest.raises(DomainError) as refused:
        tender_questions.ask_question(tender, provider, asker, "Encore une question", utcnow())
    assert refused.value.message.startswith("La date limite des questions est passée (")
    assert refused.value.message.endswith(") : vous ne pouvez plus poser de question.")
    assert db.session.scalar(select(func.count(TenderQuestion.id))) == 1


def test_no_question_on_a_closed_tender_nor_an_empty_one(make, akto):
    provider = make.provider()
    with pytest.raises(DomainError) as refused:
        tender_questions.ask_question(
            make.tender(akto, status="closed"), provider, None, "Question ?", utcnow()
        )
    assert refused.value.message == "Les questions ne sont plus possibles : l'appel d'offres est « Clos »."
    with pytest.raises(DomainError) as refused:
        tender_questions.ask_question(make.tender(akto), provider, None, "   ", utcnow())
    assert refused.value.message == "Écrivez votre question."


def test_published_answer_is_public_without_the_asker_and_a_private_one_is_not(make, akto, buyer, outbox):
    tender = make.tender(akto)
    asker_org = make.provider(name="Organisme Curieux")
    asker = asker_org.memberships[0].user
    reader = make.provider(name="Organisme Lecteur")
    public_q = tender_questions.ask_question(tender, asker_org, asker, "Quel volume par session ?", utcnow())
    private_q = tender_questions.ask_question(
        tender, asker_org, asker, "Notre devis vous convient-il ?", utcnow()
    )
    db.session.commit()

    tender_questions.answer_question(public_q, buyer, "Douze stagiaires au plus.", publish=True)
    tender_questions.answer_question(private_q, buyer, "Nous ne commentons pas les offres.", publish=False)
    db.session.commit()

    answers = tender_questions.public_answers(tender)
    assert [(a.question, a.answer) for a in answers] == [
        ("Quel volume par session ?", "Douze stagiaires au plus.")
    ]
    assert not hasattr(answers[0], "provider_id")
    assert tender_questions.provider_questions(tender, reader) == []
    own = tender_questions.provider_questions(tender, asker_org)
    assert [tender_questions.question_state(q) for q in own] == [
        "Réponse publiée pour tous les organismes",
        "Répondue (réponse visible par vous seul)",
    ]
    mails = outbox(asker.email)
    assert (
        len(mails) == 2
        and mails[0].subject == f"Réponse à votre question sur l'appel d'offres {tender.reference}"
    )
    assert "Douze stagiaires au plus." in mails[0].body_text

    # Editing an answer (and publishing it) does not send a second email.
    tender_questions.answer_question(private_q, buyer, "Réponse corrigée.", publish=True)
    db.session.commit()
    assert len(tender_questions.public_answers(tender)) == 2
    assert len(outbox(asker.email)) == 2


def test_answers_are_frozen_once_the_tender_is_closed(make, akto, buyer):
    tender = make.tender(akto)
    question = tender_questions.ask_question(tender, make.provider(), None, "Question ?", utcnow())
    db.session.commit()
    late = tender.submission_deadline + timedelta(hours=1)
    with time_machine.travel(late, tick=False), pytest.raises(DomainError) as refused:
        tender_questions.answer_question(question, buyer, "Trop tard", publish=True)
    assert refused.value.message.startswith("L'appel d'offres est « Clos »")


# --- Attachments ----------------------------------------------------------------------------------------


def stored_files(app) -> set[str]:
    root = Path(app.config["STORAGE_DIR"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def attachment_count() -> int:
    return db.session.scalar(select(func.count(TenderAttachment.id)))


def test_attachment_stored_and_removed_from_a_draft(app, make, akto, buyer):
    tender = make.tender(akto, status="draft")
    attachment = tenders.add_attachment(tender, "Cahier des charges.pdf", b"%PDF-1.7 contenu", buyer)
    db.session.commit()
    assert attachment.filename == "Cahier des charges.pdf"
    assert tenders.read_attachment(attachment) == b"%PDF-1.7 contenu"

    key = tenders.remove_attachment(attachment, buyer)
    db.session.commit()
    assert attachment_count() == 0
    assert key and audit_actions(tender) == ["tender.attachment_added", "tender.attachment_removed"]


def test_wrong_type_and_oversized_files_are_refused_and_nothing_is_stored(
    app, make, akto, buyer, monkeypatch
):
    tender = make.tender(akto, status="draft")
    before = stored_files(app)
    with pytest.raises(DomainError) as refused:
        tenders.add_attachment(tender, "programme.exe", b"MZ\x90\x00", buyer)
    assert refused.value.message == (
        "Le fichier « programme.exe » n'est pas accepté : déposez un document PDF, DOCX, XLSX ou ODT."
    )
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    with pytest.raises(DomainError) as refused:
        tenders.add_attachment(tender, "gros.pdf", b"%PDF-" + b"0" * (1024 * 1024), buyer)
    assert refused.value.message == "Le fichier « gros.pdf » dépasse la taille maximale de 1 Mo."
    db.session.rollback()
    assert attachment_count() == 0
    assert stored_files(app) == before


def test_an_attachment_of_a_published_tender_cannot_be_removed(make, akto, buyer):
    tender = make.tender(akto, status="draft")
    attachment = tenders.add_attachment(tender, "annexe.pdf", b"%PDF-1.4", buyer)
    tender.status = T.PUBLISHED  # set up the state directly, as the factory does
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        tenders.remove_attachment(attachment, buyer)
    assert refused.value.message.startswith("Une pièce d'un appel d'offres publié ne peut plus être retirée")
    assert tenders.read_attachment(attachment) == b"%PDF-1.4"  # still stored


# --- What training organisations list -------------------------------------------------------------------


def test_published_tenders_of_every_opco_with_filters_never_drafts(make, akto):
    atlas = make.opco("atlas")
    now = utcnow()
    a = make.tender(akto, title="Numérique en Bretagne", theme_code="32", region_code="53")
    b = make.tender(atlas, title="Management national", theme_code="31")
    c = make.tender(atlas, title="Clos", status="closed", submission_deadline=now - timedelta(days=1))
    make.tender(akto, title="Brouillon", status="draft")

    def titles(**filters) -> list[str]:
        return sorted(
            t.title
            for t in tender_listing.published_tenders(tender_listing.TenderFilters(**filters), now).items
        )

    assert titles() == sorted([a.title, b.title])
    assert titles(only_open=False) == sorted([a.title, b.title, c.title])
    assert titles(opco_id=atlas.id, only_open=False) == sorted([b.title, c.title])
    assert titles(theme_code="32") == [a.title]
    # Region: lots in that region and national lots.
    assert titles(region_code="53") == sorted([a.title, b.title])
    assert titles(region_code="84") == [b.title]
    assert titles(deadline_before=(now + timedelta(days=5)).date(), only_open=False) == [c.title]
    assert "Brouillon" not in titles(only_open=False)


def test_tender_for_provider_hides_drafts(make, akto):
    assert tender_listing.tender_for_provider(make.tender(akto, status="draft").id) is None
    published = make.tender(akto)
    assert tender_listing.tender_for_provider(published.id) == published
    assert tender_listing.tender_for_provider(999_999) is None


def test_time_left_label(make):
    now = datetime(NEXT_YEAR, 1, 10, 8, 0)  # 9h00 in Paris
    assert tenders.time_left_label(datetime(NEXT_YEAR, 1, 22, 11, 0), now) == "il reste 12 jours"
    assert tenders.time_left_label(datetime(NEXT_YEAR, 1, 11, 11, 0), now) == "il reste 1 jour"
    assert tenders.time_left_label(datetime(NEXT_YEAR, 1, 10, 11, 0), now) == "dernier jour, jusqu'à 12h00"
    assert tenders.time_left_label(datetime(NEXT_YEAR, 1, 10, 7, 0), now) == "date passée"
