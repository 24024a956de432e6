"""Read model of the OPCO's evaluation page: the board as the viewer may see it, and whether the award form can
be offered. Kept apart from ``evaluation`` (which decides and scores) so the view holds no query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marketplace.extensions import db
from marketplace.models import Tender, TenderResponse, User
from marketplace.services import evaluation
from marketplace.services.tender_pages import ShownTender, shown


@dataclass
class EvaluationPage:
    tender: ShownTender
    board: evaluation.Board
    ranking_complete: bool


def evaluation_page(tender: Tender, viewer: User, now: datetime) -> EvaluationPage:
    """The board (sealed as ``evaluation.board`` says) and whether every lot's ranking is complete for ``viewer``.

    The award form appears once every admissible response of every lot has at least one submitted sheet and
    the viewer may see the ranking: a ranking whose rows read « pas encore notée » must not invite an award.
    """
    board = evaluation.board(tender, viewer, now=now)
    complete = all(
        lot.ranking is not None and all(row.score is not None for row in lot.ranking)
        for lot in board.lots
        if any(rv.response.status in evaluation.SCORED for rv in lot.responses)
    )
    return EvaluationPage(shown(tender, now), board, complete)


def response_of(tender: Tender, response_id: int) -> TenderResponse | None:
    """A response to this tender (of this OPCO), never to another (None → 404)."""
    response = db.session.get(TenderResponse, response_id)
    if response is None or response.tender_id != tender.id or response.opco_id != tender.opco_id:
        return None
    return response


def lot_ids(tender: Tender) -> list[int]:
    return [lot.id for lot in tender.lots]
