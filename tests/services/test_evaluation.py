"""Evaluation of tender responses: admissibility, conflict-of-interest statement, score sheets, ranking, award."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ActionStatus,
    AuditEvent,
    CollectiveAction,
    Referencing,
    ResponseStatus,
    ScoreSheet,
    TenderResponse,
    TenderStatus,
    utcnow,
)
from marketplace.services import evaluation, evaluation_award, evaluation_pages, evaluation_scores
from marketplace.services.errors import DomainError
from marketplace.services.evaluation_scores import InvalidScores

NOW = utcnow()
TODAY = paris_today()
DEADLINE = NOW - timedelta(days=2)


def refused(callable_, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        callable_(*args, **kwargs)
    db.session.rollback()
    return info.value


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def manager(make, akto):
    user = make.user(full_name="Marion Acheteuse")
    make.member(akto, user, "tender_manager")
    return user


@pytest.fixture
def evaluator(make, akto):
    user = make.user(full_name="Éric Évaluateur")
    make.member(akto, user, "evaluator")
    return user


@pytest.fixture
def second_evaluator(make, akto):
    user = make.user(full_name="Sophie Seconde")
    make.member(akto, user, "evaluator")
    return user


def analysed_tender(make, opco, **kwargs):
    """A tender whose deadline passed two days ago, under analysis (criteria 40/20/30/10 by default)."""
    kwargs.setdefault("status", "under_analysis")
    return make.tender(
        opco, submission_deadline=DEADLINE, questions_deadline=DEADLINE - timedelta(days=10), **kwargs
    )


@pytest.fixture
def tender(make, akto):
    return analysed_tender(make, akto, title="Management de proximité")


ALL_CHECKED = {code: True for code in evaluation.MANUAL_CHECKLIST}


def admit(response, manager, opco):
    evaluation.decide_admissibility(
        response, manager, opco, admissible=True, checklist=ALL_CHECKED, reason=None, now=NOW
    )
    db.session.commit()


def sign(tender, user):
    evaluation_scores.sign_declaration(tender, user, True, NOW)
    db.session.commit()


def grid(tender, *values, text="Justifié par le mémoire technique."):
    return {c.id: (v, text) for c, v in zip(tender.criteria, values, strict=True)}


def score(response, user, *values, submit=True):
    sheet = evaluation_scores.save_scores(
        response, user, grid(response.tender, *values), submit=submit, now=NOW
    )
    db.session.commit()
    return sheet


# --- Admissibility --------------------------------------------------------------------------------------


def test_automatic_checks_pass_for_a_complete_response(make, tender):
    response = make.tender_response(tender)
    assert evaluation.automatic_checks(response, tender) == {"qualiopi": True, "nda": True, "documents": True}


def test_qualiopi_is_checked_at_the_submission_deadline_not_today(make, tender):
    # Expired yesterday, but valid on the deadline day (two days ago): the check passes.
    valid_then = make.provider(qualiopi_expires_on=TODAY - timedelta(days=1))
    response = make.tender_response(tender, valid_then)
    assert evaluation.automatic_checks(response, tender)["qualiopi"] is True


def test_expired_qualiopi_at_the_deadline_refuses_admissible_but_allows_inadmissible(
    make, akto, tender, manager
):
    expired = make.provider(name="Formations Périmées", qualiopi_expires_on=TODAY - timedelta(days=30))
    response = make.tender_response(tender, expired)
    checks = evaluation.automatic_checks(response, tender)
    assert checks == {"qualiopi": False, "nda": True, "documents": True}

    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        akto,
        admissible=True,
        checklist=ALL_CHECKED,
        reason=None,
        now=NOW,
    )
    assert "ne peut pas être déclarée recevable" in error.message
    assert f"expiré le {(TODAY - timedelta(days=30)):%d/%m/%Y}" in error.message
    assert fresh(response).status == ResponseStatus.SUBMITTED

    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        akto,
        admissible=False,
        checklist={},
        reason="  ",
        now=NOW,
    )
    assert error.message == "Indiquez le motif d'irrecevabilité."

    evaluation.decide_admissibility(
        response,
        manager,
        akto,
        admissible=False,
        checklist={"readable": True},
        reason="Certificat Qualiopi expiré à la date limite de dépôt.",
        now=NOW,
    )
    db.session.commit()
    response = fresh(response)
    assert response.status == ResponseStatus.INADMISSIBLE
    assert response.admissibility_reason == "Certificat Qualiopi expiré à la date limite de dépôt."
    assert response.admissibility_checks == {
        "automatic": {"qualiopi": False, "nda": True, "documents": True},
        "manual": {"specific_memoir": False, "prices_conform": False, "readable": True},
    }
    assert response.checked_by_id == manager.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "tender_response.declare_inadmissible")
    )
    assert event.organisation_id == akto.id and event.actor_id == manager.id


def test_missing_required_document_fails_the_automatic_check(make, akto, manager):
    tender = analysed_tender(make, akto, required_documents=["technical_proposal", "price_grid"])
    response = make.tender_response(tender, documents=["technical_proposal"])
    assert evaluation.automatic_checks(response, tender)["documents"] is False
    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        akto,
        admissible=True,
        checklist=ALL_CHECKED,
        reason=None,
        now=NOW,
    )
    assert "Bordereau de prix" in error.message


def test_admissible_needs_the_whole_manual_checklist(make, akto, tender, manager):
    response = make.tender_response(tender)
    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        akto,
        admissible=True,
        checklist={"readable": True},
        reason=None,
        now=NOW,
    )
    assert "« Mémoire technique spécifique au lot »" in error.message
    admit(response, manager, akto)
    assert fresh(response).status == ResponseStatus.ADMISSIBLE
    assert fresh(response).admissibility_checks["manual"] == ALL_CHECKED


def test_admissibility_waits_for_the_analysis_to_start(make, akto, manager):
    tender = analysed_tender(make, akto, status="closed")
    response = make.tender_response(tender)
    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        akto,
        admissible=True,
        checklist=ALL_CHECKED,
        reason=None,
        now=NOW,
    )
    assert "Commencez l'analyse" in error.message


def test_another_opco_cannot_decide(make, tender, manager):
    atlas = make.opco("atlas")
    response = make.tender_response(tender)
    error = refused(
        evaluation.decide_admissibility,
        response,
        manager,
        atlas,
        admissible=False,
        checklist={},
        reason="Hors sujet",
        now=NOW,
    )
    assert "n'existe pas" in error.message


def test_responses_are_sealed_until_the_deadline(make, akto):
    tender = make.tender(akto, status="published")  # deadline in 20 days
    make.tender_response(tender)
    assert evaluation.received_responses(tender, NOW) == []
    assert len(evaluation.received_responses(tender, tender.submission_deadline)) == 1


# --- Declaration and score sheets -----------------------------------------------------------------------


def test_declaration_is_required_before_any_score(make, akto, tender, manager, evaluator):
    response = make.tender_response(tender, make.provider(name="Alpha Formation"))
    make.tender_response(tender, make.provider(name="Bêta Conseil"))
    admit(response, manager, akto)

    error = refused(
        evaluation_scores.save_scores, response, evaluator, grid(tender, 4, 3, 5, 2), submit=True, now=NOW
    )
    assert "Signez d'abord la déclaration" in error.message

    error = refused(evaluation_scores.sign_declaration, tender, evaluator, False, NOW)
    assert "Cochez la case" in error.message

    declaration = evaluation_scores.sign_declaration(tender, evaluator, True, NOW)
    db.session.commit()
    assert "Éric Évaluateur" in declaration.statement
    assert "Alpha Formation, Bêta Conseil" in declaration.statement
    assert "aucun lien d'intérêt" in declaration.statement
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tender.declaration_signed"))

    sheet = score(response, evaluator, 4, 3, 5, 2)
    assert sheet.submitted_at is not None


def test_a_member_without_the_evaluation_permission_cannot_score(make, akto, tender, manager):
    catalogue_manager = make.user()
    make.member(akto, catalogue_manager, "catalogue_manager")
    error = refused(evaluation_scores.sign_declaration, tender, catalogue_manager, True, NOW)
    assert "autorisés à évaluer" in error.message


def test_only_admissible_responses_are_scored(make, akto, tender, evaluator):
    response = make.tender_response(tender)  # still « déposée »
    sign(tender, evaluator)
    error = refused(
        evaluation_scores.save_scores, response, evaluator, grid(tender, 4, 3, 5, 2), submit=False, now=NOW
    )
    assert "Seules les réponses recevables sont notées" in error.message


def test_submitting_needs_a_score_and_a_justification_on_every_criterion(
    make, akto, tender, manager, evaluator
):
    response = make.tender_response(tender)
    admit(response, manager, akto)
    sign(tender, evaluator)
    technical, team, price, csr = tender.criteria
    rows = {
        technical.id: ("4", "Mémoire précis et adapté."),
        team.id: ("3", ""),
        price.id: ("", ""),
        csr.id: ("9", "Trop généreux"),
    }
    with pytest.raises(InvalidScores) as info:
        evaluation_scores.save_scores(response, evaluator, rows, submit=True, now=NOW)
    db.session.rollback()
    assert info.value.errors == {
        f"justification_{team.id}": "« Équipe et moyens » : justifiez la note (pas de point sans justification).",
        f"score_{price.id}": "« Prix » : choisissez une note de 0 à 5.",
        f"score_{csr.id}": "« RSE » : la note est un entier de 0 à 5.",
    }

    # A draft keeps what is there, even incomplete.
    rows[csr.id] = ("2", "")
    sheet = evaluation_scores.save_scores(response, evaluator, rows, submit=False, now=NOW)
    db.session.commit()
    assert sheet.submitted_at is None
    assert sorted(s.value for s in sheet.scores) == [2, 3, 4]


def test_a_submitted_sheet_is_read_only(make, akto, tender, manager, evaluator):
    response = make.tender_response(tender)
    admit(response, manager, akto)
    sign(tender, evaluator)
    score(response, evaluator, 4, 3, 5, 2)
    error = refused(
        evaluation_scores.save_scores, response, evaluator, grid(tender, 5, 5, 5, 5), submit=False, now=NOW
    )
    assert "ne peut plus être modifiée" in error.message
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.response_id == response.id))
    assert sorted(s.value for s in sheet.scores) == [2, 3, 4, 5]


def test_others_scores_are_hidden_until_ones_own_sheet_is_submitted(
    make, akto, tender, manager, evaluator, second_evaluator
):
    response = make.tender_response(tender)
    admit(response, manager, akto)
    sign(tender, evaluator)
    sign(tender, second_evaluator)
    first = score(response, evaluator, 4, 3, 5, 2)
    draft = score(response, second_evaluator, 3, 3, 3, 3, submit=False)

    assert [s.id for s in evaluation_scores.visible_sheets(response, second_evaluator)] == [draft.id]
    # The first evaluator submitted: the other's sheet is still a draft, so it stays hidden.
    assert [s.id for s in evaluation_scores.visible_sheets(response, evaluator)] == [first.id]
    # A manager who does not score sees nobody's sheet before the award.
    assert evaluation_scores.visible_sheets(response, manager) == []

    evaluation_scores.save_scores(response, second_evaluator, grid(tender, 4, 3, 4, 1), submit=True, now=NOW)
    db.session.commit()
    assert {s.id for s in evaluation_scores.visible_sheets(response, second_evaluator)} == {
        draft.id,
        first.id,
    }
    assert {s.id for s in evaluation_scores.visible_sheets(response, evaluator)} == {draft.id, first.id}

    page = evaluation_pages.board(tender, evaluator, now=NOW)
    [view] = page.lots[0].responses
    assert [s.evaluator_id for s in view.other_sheets] == [second_evaluator.id]


def _lot(page):
    [lot_view] = page.lots
    return lot_view


def test_evaluation_peek_refused_to_a_manager_who_scores(make, akto, tender, manager, evaluator):
    """A tender manager who signed the statement sees no other score nor the ranking before sending their sheet."""
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    admit(response, manager, akto)
    sign(tender, evaluator)
    sign(tender, manager)
    theirs = score(response, evaluator, 5, 5, 5, 5)

    for stage in ("no sheet", "draft"):
        if stage == "draft":
            score(response, manager, 1, 1, 1, 1, submit=False)
        lot_view = _lot(evaluation_pages.board(tender, manager, now=NOW))
        [view] = lot_view.responses
        assert lot_view.ranking is None, stage
        assert view.other_sheets == [] and view.score is None, stage
        assert "vous avez envoyé votre grille" in lot_view.ranking_hidden_reason
        assert view.submitted_sheets == 1  # how many were sent, never what they say
        assert all(
            s.evaluator_id == manager.id for s in evaluation_scores.visible_sheets(response, manager)
        ), stage
    error = refused(
        evaluation_award.award,
        tender,
        manager,
        akto,
        {tender.lots[0].id: [response.id]},
        valid_from=TODAY,
        valid_until=TODAY + timedelta(days=30),
        now=NOW,
    )
    assert "envoyez d'abord votre grille" in error.message
    assert fresh(tender).status == TenderStatus.UNDER_ANALYSIS

    score(response, manager, 1, 1, 1, 1)
    lot_view = _lot(evaluation_pages.board(tender, manager, now=NOW))
    [view] = lot_view.responses
    assert [s.id for s in view.other_sheets] == [theirs.id]
    assert lot_view.ranking is not None and view.score == Decimal("60")  # (100 + 20) / 2


def test_evaluation_peek_refused_to_an_administrator_on_a_lot_not_fully_scored(make, akto, tender, evaluator):
    """The ranking of a lot needs one's own sheet on every admissible response of the lot."""
    admin = make.user(full_name="Adèle Administratrice")
    make.member(akto, admin, "admin")
    first = make.tender_response(tender, make.provider(name="Premier"))
    second = make.tender_response(tender, make.provider(name="Second"))
    for response in (first, second):
        admit(response, admin, akto)
    sign(tender, evaluator)
    sign(tender, admin)
    score(first, evaluator, 4, 4, 4, 4)
    score(second, evaluator, 2, 2, 2, 2)
    score(first, admin, 3, 3, 3, 3)

    lot_view = _lot(evaluation_pages.board(tender, admin, now=NOW))
    views = {rv.response.id: rv for rv in lot_view.responses}
    assert [s.evaluator_id for s in views[first.id].other_sheets] == [evaluator.id]  # own sheet sent on it
    assert views[second.id].other_sheets == []  # not yet on this one
    assert lot_view.ranking is None and all(rv.score is None for rv in lot_view.responses)


def test_a_manager_who_does_not_score_sees_the_board_once_every_evaluator_has_sent(
    make, akto, tender, manager, evaluator, second_evaluator
):
    response = make.tender_response(tender)
    admit(response, manager, akto)
    sign(tender, evaluator)
    sign(tender, second_evaluator)
    score(response, evaluator, 4, 3, 5, 2)

    lot_view = _lot(evaluation_pages.board(tender, manager, now=NOW))
    assert lot_view.ranking is None and lot_view.responses[0].other_sheets == []
    assert "chaque évaluateur a envoyé sa grille" in lot_view.ranking_hidden_reason
    error = refused(
        evaluation_award.award,
        tender,
        manager,
        akto,
        {tender.lots[0].id: [response.id]},
        valid_from=TODAY,
        valid_until=TODAY + timedelta(days=30),
        now=NOW,
    )
    assert "chaque évaluateur doit d'abord envoyer sa grille" in error.message

    score(response, second_evaluator, 4, 3, 4, 1, submit=False)
    assert _lot(evaluation_pages.board(tender, manager, now=NOW)).ranking is None  # a draft is not sent

    evaluation_scores.save_scores(response, second_evaluator, grid(tender, 4, 3, 4, 1), submit=True, now=NOW)
    db.session.commit()
    lot_view = _lot(evaluation_pages.board(tender, manager, now=NOW))
    assert lot_view.ranking is not None and lot_view.responses[0].score == Decimal("74")
    assert len(lot_view.responses[0].other_sheets) == 2

    # Having seen the scores, the manager cannot become an evaluator of this tender any more.
    error = refused(evaluation_scores.sign_declaration, tender, manager, True, NOW)
    assert "vous ne pouvez donc plus noter cet appel d'offres" in error.message
    assert evaluation_scores.declaration_of(tender, manager) is None
    # An evaluator who does not manage tenders may still join: their own sheet comes first.
    late = make.user(full_name="Luc Tardif")
    make.member(akto, late, "evaluator")
    sign(tender, late)
    assert _lot(evaluation_pages.board(tender, late, now=NOW)).ranking is None


def test_the_activity_log_does_not_carry_the_scores(make, akto, tender, manager, evaluator):
    response = make.tender_response(tender)
    admit(response, manager, akto)
    sign(tender, evaluator)
    score(response, evaluator, 4, 3, 5, 2)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tender.scores_submitted"))
    assert event is not None and "score" not in (event.data or {})
    assert "78" not in str(event.data)


# --- Weighted score and ranking -------------------------------------------------------------------------


def test_weighted_score_and_ranking_on_a_worked_example(
    make, akto, tender, manager, evaluator, second_evaluator
):
    """Criteria 40/20/30/10. Evaluator 1 gives 4, 3, 5, 2: 4/5×40 + 3/5×20 + 5/5×30 + 2/5×10 = 32 + 12 + 30 + 4
    = 78. Evaluator 2 gives 4, 3, 4, 1: 32 + 12 + 24 + 2 = 70. Mean: 74.00."""
    first = make.tender_response(tender, make.provider(name="Premier"))
    second = make.tender_response(tender, make.provider(name="Second ex aequo"))
    third = make.tender_response(tender, make.provider(name="Troisième ex aequo"))
    unscored = make.tender_response(tender, make.provider(name="Pas encore notée"))
    for response in (first, second, third, unscored):
        admit(response, manager, akto)
    sign(tender, evaluator)
    sign(tender, second_evaluator)

    sheet = score(first, evaluator, 4, 3, 5, 2)
    assert evaluation_scores.sheet_score(sheet, tender.criteria) == Decimal(78)
    score(first, second_evaluator, 4, 3, 4, 1)
    score(second, evaluator, 3, 3, 3, 3)  # 24 + 12 + 18 + 6 = 60
    score(third, evaluator, 3, 3, 3, 3)  # 60 as well: same rank

    rows = evaluation_scores.ranking(tender.lots[0])
    assert [(r.response.provider.name, r.score, r.rank) for r in rows] == [
        ("Premier", Decimal("74.000000"), 1),
        ("Second ex aequo", Decimal("60.000000"), 2),
        ("Troisième ex aequo", Decimal("60.000000"), 2),
        ("Pas encore notée", None, None),
    ]
    assert str(evaluation_scores.display_score(rows[0].score)) == "74.00"
    response, value, rank = rows[0]  # unpacks as (response, score, rank)
    assert rank == 1


def test_a_mean_that_does_not_divide_evenly_is_rounded_for_display(
    make, akto, tender, manager, evaluator, second_evaluator
):
    third_evaluator = make.user()
    make.member(akto, third_evaluator, "evaluator")
    response = make.tender_response(tender)
    admit(response, manager, akto)
    for user, values in (
        (evaluator, (5, 5, 5, 5)),
        (second_evaluator, (5, 5, 5, 5)),
        (third_evaluator, (4, 5, 5, 5)),
    ):
        sign(tender, user)
        score(response, user, *values)
    [row] = evaluation_scores.ranking(tender.lots[0])
    # (100 + 100 + 92) / 3 = 97.333…
    assert evaluation_scores.display_score(row.score) == Decimal("97.33")


# --- Award ----------------------------------------------------------------------------------------------


@pytest.fixture
def scored(make, akto, tender, manager, evaluator):
    """Two admissible responses scored 78 and 60, one inadmissible, on the tender's single lot."""
    winner = make.tender_response(
        tender, make.provider(name="Gagnant Formation"), price_per_trainee_cents=110_000
    )
    runner_up = make.tender_response(tender, make.provider(name="Second Formation"))
    rejected = make.tender_response(tender, make.provider(name="Irrecevable Formation"))
    admit(winner, manager, akto)
    admit(runner_up, manager, akto)
    evaluation.decide_admissibility(
        rejected,
        manager,
        akto,
        admissible=False,
        checklist={},
        reason="Mémoire technique générique.",
        now=NOW,
    )
    db.session.commit()
    sign(tender, evaluator)
    score(winner, evaluator, 4, 3, 5, 2)
    score(runner_up, evaluator, 3, 3, 3, 3)
    return winner, runner_up, rejected


def do_award(tender, manager, akto, winners, **kwargs):
    kwargs.setdefault("valid_from", TODAY)
    kwargs.setdefault("valid_until", TODAY + timedelta(days=730))
    result = evaluation_award.award(tender, manager, akto, winners, now=NOW, **kwargs)
    db.session.commit()
    return result


def test_award_creates_a_draft_action_and_the_referencing_and_writes_results(
    make, akto, tender, manager, scored, outbox
):
    winner, runner_up, rejected = scored
    lot = tender.lots[0]
    created = do_award(tender, manager, akto, {lot.id: [winner.id]})

    tender, lot = fresh(tender), fresh(lot)
    assert tender.status == TenderStatus.AWARDED and tender.awarded_at is not None
    assert lot.status == "awarded"
    action = db.session.get(CollectiveAction, lot.action_id)
    assert action.status == ActionStatus.DRAFT
    assert action.reference == f"{tender.reference}-L1"
    assert action.title == lot.title and action.price_cents == lot.max_price_cents
    assert action.is_national and {s.percent for s in action.funding_shares} == {100}
    [referencing] = created[lot.id]
    referencing = db.session.get(Referencing, referencing.id)
    assert (referencing.provider_id, referencing.action_id, referencing.price_cents, referencing.status) == (
        winner.provider_id,
        action.id,
        110_000,
        "active",
    )
    assert referencing.valid_until == TODAY + timedelta(days=730)

    winner, runner_up, rejected = fresh(winner), fresh(runner_up), fresh(rejected)
    assert (winner.status, winner.final_score, winner.rank) == (ResponseStatus.RETAINED, 78.0, 1)
    assert (runner_up.status, runner_up.final_score, runner_up.rank) == (ResponseStatus.NOT_RETAINED, 60.0, 2)
    assert (rejected.status, rejected.final_score, rejected.rank) == (ResponseStatus.INADMISSIBLE, None, None)

    won = outbox(winner.provider.memberships[0].user.email)
    assert [m.template for m in won] == ["tender_result_retained"]
    assert "est RETENUE" in won[0].body_text and "78,00/100" in won[0].body_text
    assert "rang 1 sur 2 réponses notées" in won[0].body_text
    lost = outbox(runner_up.provider.memberships[0].user.email)
    assert [m.template for m in lost] == ["tender_result_not_retained"]
    assert "60,00/100" in lost[0].body_text and "rang 2 sur 2" in lost[0].body_text
    inadmissible = outbox(rejected.provider.memberships[0].user.email)
    assert (
        "irrecevable" in inadmissible[0].body_text
        and "Mémoire technique générique." in inadmissible[0].body_text
    )
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "tender.award",
        "tender_response.retain",
        "tender_response.reject",
        "catalogue.provider_referenced",
        "catalogue.action_created",
    } <= actions


def test_award_references_on_the_lots_existing_action(make, akto, tender, manager, scored):
    winner, *_ = scored
    lot = tender.lots[0]
    action = make.action(akto, title="Action existante", price_cents=150_000)
    lot.action_id = action.id
    db.session.commit()
    do_award(tender, manager, akto, {lot.id: [winner.id]})
    assert (
        db.session.scalar(select(Referencing.action_id).where(Referencing.provider_id == winner.provider_id))
        == action.id
    )
    assert (
        db.session.scalar(select(CollectiveAction.id).where(CollectiveAction.reference.like("AO-%"))) is None
    )


def test_a_lot_without_winner_is_unsuccessful(make, akto, tender, manager, scored, outbox):
    winner, runner_up, _ = scored
    lot = tender.lots[0]
    do_award(tender, manager, akto, {lot.id: []})
    assert fresh(lot).status == "unsuccessful" and fresh(lot).action_id is None
    assert fresh(winner).status == ResponseStatus.NOT_RETAINED
    assert db.session.scalar(select(Referencing.id)) is None


def test_a_single_award_lot_takes_one_winner_only(make, akto, tender, manager, scored):
    winner, runner_up, _ = scored
    lot = tender.lots[0]
    error = refused(do_award, tender, manager, akto, {lot.id: [winner.id, runner_up.id]})
    assert "mono-attributaire" in error.message
    assert fresh(tender).status == TenderStatus.UNDER_ANALYSIS


def test_a_multi_award_lot_takes_several_winners(make, akto, manager, evaluator):
    tender = analysed_tender(make, akto, multi_award=True)
    responses = [make.tender_response(tender) for _ in range(2)]
    sign(tender, evaluator)
    for response in responses:
        admit(response, manager, akto)
        score(response, evaluator, 4, 4, 4, 4)
    lot = tender.lots[0]
    created = do_award(tender, manager, akto, {lot.id: [r.id for r in responses]})
    assert len(created[lot.id]) == 2
    assert {fresh(r).rank for r in responses} == {1}


def test_award_refuses_inadmissible_or_unscored_winners(make, akto, tender, manager, scored, evaluator):
    winner, runner_up, rejected = scored
    lot = tender.lots[0]
    error = refused(do_award, tender, manager, akto, {lot.id: [rejected.id]})
    assert "n'est pas recevable" in error.message
    unscored = make.tender_response(tender)
    admit(unscored, manager, akto)
    error = refused(do_award, tender, manager, akto, {lot.id: [unscored.id]})
    assert "aucune grille de notation envoyée" in error.message


def test_award_refused_when_not_under_analysis(make, akto, manager):
    tender = analysed_tender(make, akto, status="closed")
    error = refused(do_award, tender, manager, akto, {})
    assert "Commencez l'analyse" in error.message
    awarded = analysed_tender(make, akto, status="awarded")
    error = refused(do_award, awarded, manager, akto, {})
    assert "il doit être « En analyse »" in error.message


def test_award_waits_for_every_admissibility_decision(make, akto, tender, manager, scored):
    make.tender_response(tender, make.provider(name="Pas encore examinée"))
    error = refused(do_award, tender, manager, akto, {tender.lots[0].id: [scored[0].id]})
    assert "Pas encore examinée" in error.message


def test_award_is_refused_whole_when_a_winner_lost_qualiopi(make, akto, manager, evaluator):
    """Valid at the deadline, expired today: the catalogue refuses the referencing, so nothing is done."""
    tender = analysed_tender(make, akto, lots=2)
    lot1, lot2 = tender.lots
    good = make.tender_response(tender, lot=lot1)
    lapsed = make.tender_response(
        tender, make.provider(qualiopi_expires_on=TODAY - timedelta(days=1)), lot=lot2
    )
    sign(tender, evaluator)
    for response in (good, lapsed):
        admit(response, manager, akto)
        score(response, evaluator, 4, 3, 5, 2)
    error = refused(do_award, tender, manager, akto, {lot1.id: [good.id], lot2.id: [lapsed.id]})
    assert "Lot n° 2" in error.message and "a expiré le" in error.message
    assert fresh(tender).status == TenderStatus.UNDER_ANALYSIS
    assert fresh(good).status == ResponseStatus.ADMISSIBLE and fresh(good).final_score is None
    assert db.session.scalar(select(Referencing.id)) is None
    assert db.session.scalar(select(CollectiveAction.id)) is None


def test_award_is_refused_when_the_lots_action_is_archived(make, akto, tender, manager, scored):
    winner, *_ = scored
    lot = tender.lots[0]
    lot.action_id = make.action(akto, status="archived").id
    db.session.commit()
    error = refused(do_award, tender, manager, akto, {lot.id: [winner.id]})
    assert "archivée" in error.message
    assert db.session.get(TenderResponse, winner.id).status == ResponseStatus.ADMISSIBLE
