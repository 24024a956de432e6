"""Scoring of the admissible responses to a call for tenders: the evaluators' conflict-of-interest statement,
their score sheets, the weighted scores and each lot's ranking, and who may see them (kept apart from
``evaluation``, which decides who reads the responses and their admissibility).

Rules held here:

- An evaluator (permission ``evaluate_tenders``) signs a conflict-of-interest statement naming the candidates
  before any score, then scores each admissible response on every criterion from 0 to 5 with a written
  justification (« pas de point sans justification »). A submitted sheet is read-only.
- Scores are sealed. Whoever may score a response — an evaluator of the tender (conflict-of-interest
  statement signed), whatever their role, administrators and buyers included, and any member allowed to
  evaluate who does not manage tenders — sees another evaluator's sheet on a response only once their own
  sheet on that response is sent, and a lot's scores and ranking only once their own sheets on every
  admissible response of the lot are sent (a draft is not enough). A tender manager who does not score (no
  statement signed) sees a lot's sheets, scores and ranking only once the evaluators have finished it: every
  admissible response of the lot has a sent sheet and every member who signed the statement has sent theirs on
  each of them; from then on that manager can no longer sign the statement for this tender (having seen the
  scores, they cannot score). After the award every sent sheet and the ranking are shown. The award itself is
  refused to whom this rule does not show every lot's ranking yet. The activity log never carries a score.
  (``evaluation_pages.board`` shows the page by this rule; :func:`sign_declaration` and
  ``evaluation_award.award`` enforce it.)
- Weighted score of a sheet = Σ note / 5 × poids (out of 100); a response's score is the mean of its submitted
  sheets; ranks per lot share ties (1, 1, 3). Scores are Decimal; rounding to 2 decimals is for display and for
  the stored result.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.formatting import date_fr, of_name
from marketplace.models import (
    EvaluatorDeclaration,
    ResponseStatus,
    Score,
    ScoreSheet,
    Tender,
    TenderCriterion,
    TenderLot,
    TenderResponse,
    TenderStatus,
    User,
)
from marketplace.services import audit
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.evaluation import (
    SCORED,
    candidates,
    check_evaluator,
    check_readable,
    check_under_analysis,
    opco_role_of,
    received_responses,
)
from marketplace.services.roles import Perm, has_permission
from marketplace.services.tender_states import effective_status
from marketplace.services.text import has_control

R = ResponseStatus

MAX_SCORE = 5
MAX_JUSTIFICATION = 2000
HUNDREDTH = Decimal("0.01")
_PRECISION = Decimal("0.000001")  # means compared at this precision, so equal scores tie


class InvalidScores(InvalidForm):
    """Several rows of a score sheet are wrong; ``errors`` maps field name → French message."""


def score_field(criterion_id: int) -> str:
    return f"score_{criterion_id}"


def justification_field(criterion_id: int) -> str:
    return f"justification_{criterion_id}"


# --- Conflict-of-interest statement ---------------------------------------------------------------------


def declaration_text(tender: Tender, evaluator: User) -> str:
    """The statement an evaluator signs, naming the candidates."""
    names = candidates(tender)
    listed = ", ".join(names) if names else "aucun candidat à ce jour"
    return (
        f"Je soussigné(e) {evaluator.full_name} déclare sur l'honneur n'avoir aucun lien d'intérêt — familial, "
        "financier, professionnel ou personnel — avec les candidats à l'appel d'offres "
        f"« {tender.title} » ({tender.reference}) : {listed}. Je m'engage à évaluer les réponses avec "
        "impartialité, à garder leur contenu confidentiel et à signaler sans délai tout conflit d'intérêts "
        "qui apparaîtrait pendant l'évaluation."
    )


def declaration_of(tender: Tender, evaluator: User) -> EvaluatorDeclaration | None:
    return db.session.scalar(
        select(EvaluatorDeclaration).where(
            EvaluatorDeclaration.tender_id == tender.id, EvaluatorDeclaration.evaluator_id == evaluator.id
        )
    )


def sign_declaration(
    tender: Tender, evaluator: User, statement_accepted: bool, now: datetime
) -> EvaluatorDeclaration:
    """Record the evaluator's statement of no conflict of interest (required before any score)."""
    check_evaluator(evaluator, tender)
    check_readable(tender, now)
    status = effective_status(tender, now)
    if status not in (TenderStatus.CLOSED, TenderStatus.UNDER_ANALYSIS):
        raise DomainError(
            f"La déclaration se signe pendant l'analyse ; l'appel d'offres est « {TenderStatus.LABELS[status]} »."
        )
    existing = declaration_of(tender, evaluator)
    if existing is not None:
        return existing
    member_role = opco_role_of(evaluator, tender.opco_id)
    if member_role is not None and has_permission("opco", member_role, Perm.MANAGE_TENDERS):
        opened = opened_lots(tender, now)
        if opened:
            raise DomainError(
                f"Les évaluateurs ont envoyé toutes leurs grilles pour le lot n° {opened[0]} : vous voyez déjà "
                "les notes et le classement, vous ne pouvez donc plus noter cet appel d'offres.",
                field="accept",
            )
    if not statement_accepted:
        raise DomainError(
            "Cochez la case pour signer la déclaration d'absence de conflit d'intérêts : sans elle, "
            "vous ne pouvez pas noter les réponses.",
            field="accept",
        )
    declaration = EvaluatorDeclaration(
        tender_id=tender.id,
        evaluator_id=evaluator.id,
        statement=declaration_text(tender, evaluator),
        signed_at=now,
    )
    db.session.add(declaration)
    db.session.flush()
    audit.record(
        "tender.declaration_signed",
        organisation_id=tender.opco_id,
        actor=evaluator,
        obj=tender,
        data={"reference": tender.reference, "candidates": candidates(tender)},
    )
    return declaration


# --- Score sheets ---------------------------------------------------------------------------------------


def sheet_of(response: TenderResponse, evaluator: User) -> ScoreSheet | None:
    return db.session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.response_id == response.id, ScoreSheet.evaluator_id == evaluator.id
        )
    )


def _parse_value(raw) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not text.isdigit():
            raise ValueError
        value = int(text)
    if not 0 <= value <= MAX_SCORE:
        raise ValueError
    return value


def save_scores(
    response: TenderResponse,
    evaluator: User,
    scores: dict[int, tuple],
    *,
    submit: bool,
    now: datetime,
) -> ScoreSheet:
    """Save the evaluator's sheet for an admissible response as a draft, or submit it (then read-only).

    Submitting needs a note from 0 to 5 and a justification on every criterion.
    """
    tender = response.tender
    check_evaluator(evaluator, tender)
    check_readable(tender, now)
    check_under_analysis(tender, "de noter les réponses")
    if declaration_of(tender, evaluator) is None:
        raise DomainError(
            "Signez d'abord la déclaration d'absence de conflit d'intérêts : elle est obligatoire avant toute note."
        )
    if response.status != R.ADMISSIBLE:
        raise DomainError(
            f"Seules les réponses recevables sont notées ; celle {of_name(response.provider.name)} est "
            f"« {response.status_label} »."
        )
    sheet = sheet_of(response, evaluator)
    if sheet is not None and sheet.submitted_at is not None:
        raise DomainError(
            f"Votre grille pour {response.provider.name} est envoyée depuis le "
            f"{date_fr(sheet.submitted_at)} : elle ne peut plus être modifiée."
        )
    criteria: list[TenderCriterion] = list(tender.criteria)
    known = {c.id for c in criteria}
    unknown = [cid for cid in (scores or {}) if cid not in known]
    if unknown:
        raise DomainError("Cette grille contient un critère qui n'appartient pas à l'appel d'offres.")
    errors: dict[str, str] = {}
    cleaned: dict[int, tuple[int | None, str]] = {}
    for criterion in criteria:
        raw_value, raw_text = (scores or {}).get(criterion.id, (None, ""))
        text = (raw_text or "").strip() if isinstance(raw_text, str) or raw_text is None else str(raw_text)
        if has_control(text):
            errors[justification_field(criterion.id)] = (
                f"« {criterion.label} » : la justification contient des caractères invisibles non autorisés."
            )
            continue
        try:
            value = _parse_value(raw_value)
        except ValueError:
            errors[score_field(criterion.id)] = f"« {criterion.label} » : la note est un entier de 0 à 5."
            continue
        if len(text) > MAX_JUSTIFICATION:
            errors[justification_field(criterion.id)] = (
                f"« {criterion.label} » : la justification ne peut pas dépasser {MAX_JUSTIFICATION} caractères."
            )
            continue
        if value is None and (submit or text):
            errors[score_field(criterion.id)] = f"« {criterion.label} » : choisissez une note de 0 à 5."
            continue
        if submit and not text:
            errors[justification_field(criterion.id)] = (
                f"« {criterion.label} » : justifiez la note (pas de point sans justification)."
            )
            continue
        cleaned[criterion.id] = (value, text)
    if errors:
        raise InvalidScores(errors)
    if sheet is None:
        sheet = ScoreSheet(response_id=response.id, evaluator_id=evaluator.id)
        db.session.add(sheet)
    existing = {s.criterion_id: s for s in sheet.scores}
    for criterion_id, (value, text) in cleaned.items():
        row = existing.get(criterion_id)
        if value is None:
            if row is not None:
                sheet.scores.remove(row)
            continue
        if row is None:
            sheet.scores.append(Score(criterion_id=criterion_id, value=value, justification=text))
        else:
            row.value, row.justification = value, text
    if submit:
        sheet.submitted_at = now
    db.session.flush()
    if submit:
        audit.record(
            "tender.scores_submitted",
            organisation_id=tender.opco_id,
            actor=evaluator,
            obj=response,
            # No score here: the activity log is read by members who may still have to score this response.
            data={
                "reference": tender.reference,
                "lot": response.lot.number,
                "provider": response.provider.name,
            },
        )
    return sheet


def visible_sheets(response: TenderResponse, evaluator: User) -> list[ScoreSheet]:
    """The viewer's own sheet, then the others' submitted sheets once the viewer's own sheet is submitted.

    After the award (scores and ranks written), every submitted sheet of the response is visible.
    """
    sheets = list(
        db.session.scalars(
            select(ScoreSheet).where(ScoreSheet.response_id == response.id).order_by(ScoreSheet.id)
        )
    )
    return _visible(sheets, evaluator.id, response.rank is not None)


def _visible(sheets: list[ScoreSheet], viewer_id: int, results_out: bool) -> list[ScoreSheet]:
    own = [s for s in sheets if s.evaluator_id == viewer_id]
    mine_submitted = bool(own and own[0].submitted_at is not None)
    others = [
        s
        for s in sheets
        if s.evaluator_id != viewer_id and s.submitted_at is not None and (mine_submitted or results_out)
    ]
    return own + others


# --- Scores and ranking ---------------------------------------------------------------------------------


def sheet_score(sheet: ScoreSheet, criteria: list[TenderCriterion]) -> Decimal:
    """Σ note / 5 × poids over the criteria (out of 100), exact."""
    weights = {c.id: c.weight for c in criteria}
    return sum(
        (Decimal(s.value) * weights.get(s.criterion_id, 0) / MAX_SCORE for s in sheet.scores), Decimal(0)
    )


def response_score(sheets: list[ScoreSheet], criteria: list[TenderCriterion]) -> Decimal | None:
    """Mean of the submitted sheets' weighted scores; None while no sheet is submitted."""
    submitted = [s for s in sheets if s.submitted_at is not None]
    if not submitted:
        return None
    total = sum((sheet_score(s, criteria) for s in submitted), Decimal(0))
    return (total / len(submitted)).quantize(_PRECISION, rounding=ROUND_HALF_UP)


def display_score(score: Decimal | None) -> Decimal | None:
    return None if score is None else score.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


class RankRow(NamedTuple):
    response: TenderResponse
    score: Decimal | None  # None: no submitted sheet yet
    rank: int | None


def _rank(rows: list[tuple[TenderResponse, Decimal | None]]) -> list[RankRow]:
    """Scored responses by score (desc) then submission time, ties sharing a rank; unscored ones last."""
    scored = sorted(
        ((r, s) for r, s in rows if s is not None),
        key=lambda item: (-item[1], item[0].submitted_at or datetime.max, item[0].id),
    )
    ranked: list[RankRow] = []
    for position, (response, score) in enumerate(scored, start=1):
        rank = ranked[-1].rank if ranked and ranked[-1].score == score else position  # ties share a rank
        ranked.append(RankRow(response, score, rank))
    unscored = sorted((r for r, s in rows if s is None), key=lambda r: (r.submitted_at or datetime.max, r.id))
    return ranked + [RankRow(r, None, None) for r in unscored]


def sheets_by_response(response_ids: list[int]) -> dict[int, list[ScoreSheet]]:
    if not response_ids:
        return {}
    sheets = db.session.scalars(
        select(ScoreSheet)
        .where(ScoreSheet.response_id.in_(response_ids))
        .options(selectinload(ScoreSheet.scores))
        .order_by(ScoreSheet.id)
    ).all()
    result: dict[int, list[ScoreSheet]] = defaultdict(list)
    for sheet in sheets:
        result[sheet.response_id].append(sheet)
    return result


def rankings(tender: Tender) -> dict[int, list[RankRow]]:
    """Ranking of the admissible (and decided) responses of every lot, in a constant number of queries."""
    responses = db.session.scalars(
        select(TenderResponse).where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(SCORED))
    ).all()
    sheets = sheets_by_response([r.id for r in responses])
    criteria = list(tender.criteria)
    by_lot: dict[int, list] = {lot.id: [] for lot in tender.lots}
    for response in responses:
        by_lot.setdefault(response.lot_id, []).append(
            (response, response_score(sheets.get(response.id, []), criteria))
        )
    return {lot_id: _rank(rows) for lot_id, rows in by_lot.items()}


def ranking(lot: TenderLot) -> list[RankRow]:
    """``[(response, score, rank)]`` for one lot (score Decimal out of 100, None when not scored yet)."""
    return rankings(lot.tender).get(lot.id, [])


# --- Sealed scores ------------------------------------------------------------------------------------


def scores_this_tender(user: User, tender: Tender) -> bool:
    """Whether ``user`` scores (or may still score) ``tender``, for the sealing rule (module docstring).

    An evaluator of the tender (declaration signed) scores; so does any member allowed to evaluate who does
    not manage tenders. A tender manager who has not signed the declaration does not score.
    """
    if declaration_of(tender, user) is not None:
        return True
    member_role = opco_role_of(user, tender.opco_id)
    return (
        member_role is not None
        and has_permission("opco", member_role, Perm.EVALUATE_TENDERS)
        and not has_permission("opco", member_role, Perm.MANAGE_TENDERS)
    )


def declared_evaluators(tender: Tender) -> set[int]:
    """Ids of the members who signed the conflict-of-interest statement for ``tender`` (its evaluators)."""
    return set(
        db.session.scalars(
            select(EvaluatorDeclaration.evaluator_id).where(EvaluatorDeclaration.tender_id == tender.id)
        )
    )


def scored_by_all(
    responses: list[TenderResponse], sheets: dict[int, list[ScoreSheet]], evaluators: set[int]
) -> bool:
    """Every one of these admissible responses has a sent sheet, and every declared evaluator sent theirs."""
    for response in responses:
        sent = {s.evaluator_id for s in sheets.get(response.id, []) if s.submitted_at is not None}
        if not sent or not evaluators <= sent:
            return False
    return bool(responses)


def opened_lots(tender: Tender, now: datetime) -> list[int]:
    """Numbers of the lots whose evaluation is finished (every declared evaluator sent a sheet on each of their
    admissible responses): their scores and ranking are shown to the managers who do not score."""
    responses = [r for r in received_responses(tender, now) if r.status in SCORED]
    sheets = sheets_by_response([r.id for r in responses])
    evaluators = declared_evaluators(tender)
    return [
        lot.number
        for lot in tender.lots
        if scored_by_all([r for r in responses if r.lot_id == lot.id], sheets, evaluators)
    ]
