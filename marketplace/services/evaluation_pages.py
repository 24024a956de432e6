"""Read model of the OPCO's evaluation page: the board as the viewer may see it (scores sealed by the rule of
``services.evaluation_scores``), and whether the award form can be offered. Kept apart from ``evaluation``
and ``evaluation_scores`` (which decide and score) so the view holds no query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from marketplace.extensions import db
from marketplace.models import (
    EvaluatorDeclaration,
    ResponseStatus,
    ScoreSheet,
    Tender,
    TenderCriterion,
    TenderLot,
    TenderResponse,
    TenderStatus,
    User,
)
from marketplace.services import evaluation, evaluation_scores
from marketplace.services.tender_pages import ShownTender, shown
from marketplace.services.tenders import deadline_passed

# --- The board ----------------------------------------------------------------------------------------------


@dataclass
class ResponseView:
    response: TenderResponse
    checks: dict[str, bool]
    check_details: dict[str, str]
    own_sheet: ScoreSheet | None
    other_sheets: list[ScoreSheet]
    submitted_sheets: int
    score: Decimal | None  # only filled where the viewer may see it

    @property
    def can_pass(self) -> bool:
        return all(self.checks.values())


@dataclass
class LotView:
    lot: TenderLot
    responses: list[ResponseView] = field(default_factory=list)
    ranking: list[evaluation_scores.RankRow] | None = None  # None: hidden from this viewer for now
    ranking_hidden_reason: str = ""


@dataclass
class Board:
    tender: Tender
    readable: bool
    lots: list[LotView]
    declaration: EvaluatorDeclaration | None
    declaration_text: str
    criteria: list[TenderCriterion]
    pending_admissibility: int
    may_score: bool = True

    @property
    def response_count(self) -> int:
        return sum(len(lot.responses) for lot in self.lots)


HIDDEN_UNTIL_OWN_SHEETS = (
    "Le classement s'affiche quand vous avez envoyé votre grille pour chaque réponse recevable du lot."
)
HIDDEN_UNTIL_ALL_SHEETS = (
    "Le classement s'affiche quand chaque évaluateur a envoyé sa grille pour chaque réponse recevable du lot."
)


def board(tender: Tender, viewer: User, *, now: datetime) -> Board:
    """Everything the evaluation page shows to ``viewer``, in a constant number of queries.

    Who sees the scores (the evaluation's sealing rule):

    - Whoever may score a response — an evaluator of the tender (conflict-of-interest statement signed),
      whatever their role, administrators and buyers included, and any member allowed to evaluate who does not
      manage tenders — sees another evaluator's sheet on a response only once their own sheet on that response
      is sent, and a lot's scores and ranking only once their own sheets on every admissible response of the
      lot are sent. A draft is not enough.
    - A tender manager who does not score (no statement signed) sees a lot's sheets, scores and ranking only
      once the evaluators have finished it: every admissible response of the lot has a sent sheet, and every
      member who signed the statement has sent theirs on each of them. From then on that manager can no longer
      sign the statement for this tender (:func:`sign_declaration` refuses): having seen the scores, they
      cannot score.
    - Once the tender is awarded, every sent sheet and the ranking are shown (each candidate was told its
      score and rank).

    The award is decided on the ranking: refused to whom this rule does not show every lot's ranking yet.
    """
    readable = deadline_passed(tender, now)
    responses = evaluation.received_responses(tender, now)
    sheets = evaluation_scores.sheets_by_response([r.id for r in responses if r.status in evaluation.SCORED])
    criteria = list(tender.criteria)
    results_out = tender.status == TenderStatus.AWARDED
    may_score = evaluation_scores.scores_this_tender(viewer, tender)
    evaluators = evaluation_scores.declared_evaluators(tender) if readable and not may_score else set()
    ranks = evaluation_scores.rankings(tender) if readable else {}
    lots = {lot.id: LotView(lot) for lot in tender.lots}
    for response in responses:
        response_sheets = sheets.get(response.id, [])
        own = next((s for s in response_sheets if s.evaluator_id == viewer.id), None)
        lots[response.lot_id].responses.append(
            ResponseView(
                response=response,
                checks=evaluation.automatic_checks(response, tender),
                check_details=evaluation.check_details(response, tender),
                own_sheet=own,
                other_sheets=[],  # filled below, once the lot's rule is known
                submitted_sheets=sum(1 for s in response_sheets if s.submitted_at is not None),
                score=None,
            )
        )
    for lot_view in lots.values():
        scored = [rv for rv in lot_view.responses if rv.response.status in evaluation.SCORED]
        if not readable or not scored:
            continue
        if results_out:
            allowed = True
        elif may_score:
            allowed = all(rv.own_sheet is not None and rv.own_sheet.submitted_at is not None for rv in scored)
            lot_view.ranking_hidden_reason = "" if allowed else HIDDEN_UNTIL_OWN_SHEETS
        else:
            allowed = evaluation_scores.scored_by_all([rv.response for rv in scored], sheets, evaluators)
            lot_view.ranking_hidden_reason = "" if allowed else HIDDEN_UNTIL_ALL_SHEETS
        for rv in scored:
            own_submitted = rv.own_sheet is not None and rv.own_sheet.submitted_at is not None
            if allowed or (may_score and own_submitted):
                rv.other_sheets = [
                    s
                    for s in sheets.get(rv.response.id, [])
                    if s.evaluator_id != viewer.id and s.submitted_at is not None
                ]
        if allowed:
            lot_view.ranking = ranks.get(lot_view.lot.id, [])
            scores = {row.response.id: row.score for row in lot_view.ranking}
            for rv in scored:
                rv.score = scores.get(rv.response.id)
    declaration = evaluation_scores.declaration_of(tender, viewer)
    return Board(
        tender=tender,
        readable=readable,
        lots=list(lots.values()),
        declaration=declaration,
        declaration_text=declaration.statement
        if declaration
        else evaluation_scores.declaration_text(tender, viewer),
        criteria=criteria,
        pending_admissibility=sum(1 for r in responses if r.status == ResponseStatus.SUBMITTED),
        may_score=may_score,
    )


@dataclass
class EvaluationPage:
    tender: ShownTender
    board: Board
    ranking_complete: bool


def evaluation_page(tender: Tender, viewer: User, now: datetime) -> EvaluationPage:
    """The board (sealed as :func:`board` says) and whether every lot's ranking is complete for ``viewer``.

    The award form appears once every admissible response of every lot has at least one submitted sheet and
    the viewer may see the ranking: a ranking whose rows read « pas encore notée » must not invite an award.
    """
    board_ = board(tender, viewer, now=now)
    complete = all(
        lot.ranking is not None and all(row.score is not None for row in lot.ranking)
        for lot in board_.lots
        if any(rv.response.status in evaluation.SCORED for rv in lot.responses)
    )
    return EvaluationPage(shown(tender, now), board_, complete)


def response_of(tender: Tender, response_id: int) -> TenderResponse | None:
    """A response to this tender (of this OPCO), never to another (None → 404)."""
    response = db.session.get(TenderResponse, response_id)
    if response is None or response.tender_id != tender.id or response.opco_id != tender.opco_id:
        return None
    return response


def lot_ids(tender: Tender) -> list[int]:
    return [lot.id for lot in tender.lots]
