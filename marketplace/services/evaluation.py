"""Evaluation of the responses to a call for tenders, and the award of its lots (OPCO side).

Rules held here:

- The OPCO reads the responses to its own tenders only, and only once the submission deadline has passed.
- Admissibility comes first, while the tender is under analysis: automatic checks (Qualiopi « actions de
  formation » valid at the submission deadline, NDA present, every required document attached) and a manual
  checklist are stored on the response; a response cannot be declared admissible while a check fails, and an
  inadmissible one needs a reason.
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
  (``evaluation_pages.board`` shows the page by this rule; :func:`sign_declaration` and :func:`award` enforce it.)
- Weighted score of a sheet = Σ note / 5 × poids (out of 100); a response's score is the mean of its submitted
  sheets; ranks per lot share ties (1, 1, 3). Scores are Decimal; rounding to 2 decimals is for display and for
  the stored result.
- The award retains chosen admissible, scored responses (at most one per lot when the tender is single-award),
  rejects the other admissible ones, declares lots without a winner unsuccessful, writes scores and ranks,
  references each winner on the lot's collective action (a draft action is created from the lot when it has
  none) and tells every responding organisation its result. Every refusal is raised before anything changes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.formatting import date_fr, money_fr, of_name, paris_today, to_paris
from marketplace.models import (
    ActionStatus,
    EvaluatorDeclaration,
    Membership,
    Opco,
    Referencing,
    ReferencingStatus,
    ResponseStatus,
    Score,
    ScoreSheet,
    Tender,
    TenderCriterion,
    TenderDocumentKind,
    TenderLot,
    TenderResponse,
    TenderStatus,
    TrainingProvider,
    User,
)
from marketplace.services import accounts, audit, catalogue, outbox
from marketplace.services.errors import DomainError, InvalidForm, NotFound
from marketplace.services.identifiers import SIZE_BANDS, qualiopi_is_valid
from marketplace.services.roles import Perm, has_permission
from marketplace.services.tender_states import effective_status, response_transition, tender_transition
from marketplace.services.tenders import deadline_passed, refuse_control
from marketplace.services.text import has_control

R = ResponseStatus

# Automatic admissibility checks, in the order they are shown.
AUTOMATIC_CHECKS = {
    "qualiopi": "Certificat Qualiopi « Actions de formation » valide à la date limite de dépôt",
    "nda": "Numéro de déclaration d'activité (NDA) renseigné",
    "documents": "Toutes les pièces obligatoires sont jointes",
}
# The manual checklist the OPCO ticks while reading the response.
MANUAL_CHECKLIST = {
    "specific_memoir": "Mémoire technique spécifique au lot",
    "prices_conform": "Prix conformes au bordereau",
    "readable": "Pièces lisibles",
}
# Responses the OPCO may read once the deadline has passed (drafts and withdrawn ones stay with their author).
RECEIVED = (R.SUBMITTED, R.ADMISSIBLE, R.INADMISSIBLE, R.RETAINED, R.NOT_RETAINED)
# Responses that take part in the scoring and the ranking.
SCORED = (R.ADMISSIBLE, R.RETAINED, R.NOT_RETAINED)

MAX_SCORE = 5
MAX_JUSTIFICATION = 2000
MAX_REASON = 500
HUNDREDTH = Decimal("0.01")
_PRECISION = Decimal("0.000001")  # means compared at this precision, so equal scores tie


class InvalidScores(InvalidForm):
    """Several rows of a score sheet are wrong; ``errors`` maps field name → French message."""


def score_field(criterion_id: int) -> str:
    return f"score_{criterion_id}"


def justification_field(criterion_id: int) -> str:
    return f"justification_{criterion_id}"


# --- Access and deadlines -------------------------------------------------------------------------------


def deadline_date(tender: Tender) -> date:
    """The submission deadline as a Paris calendar day (Qualiopi is checked on that day)."""
    return to_paris(tender.submission_deadline).date()


def _check_owner(tender: Tender, opco: Opco) -> None:
    if tender.opco_id != opco.id:
        raise NotFound("Cet appel d'offres n'existe pas dans votre espace.")


def _check_readable(tender: Tender, now: datetime) -> None:
    if not deadline_passed(tender, now):
        raise DomainError(
            f"Les réponses ne peuvent être lues qu'après la date limite de dépôt ({_deadline_text(tender)})."
        )


def _deadline_text(tender: Tender) -> str:
    if tender.submission_deadline is None:
        return "non fixée"
    local = to_paris(tender.submission_deadline)
    return f"{local:%d/%m/%Y} à {local:%H}h{local:%M}"


def _check_under_analysis(tender: Tender, doing: str) -> None:
    if tender.status == TenderStatus.UNDER_ANALYSIS:
        return
    if tender.status == TenderStatus.CLOSED:
        raise DomainError(
            f"Commencez l'analyse de l'appel d'offres (bouton « Commencer l'analyse ») avant {doing}."
        )
    raise DomainError(
        f"Impossible {doing} : l'appel d'offres est « {tender.status_label} », il doit être « En analyse »."
    )


def _role(user: User, opco_id: int) -> str | None:
    return db.session.scalar(
        select(Membership.role).where(Membership.organisation_id == opco_id, Membership.user_id == user.id)
    )


def is_evaluator(user: User, opco_id: int) -> bool:
    """Whether ``user`` belongs to the OPCO with a role allowed to evaluate tenders."""
    role = _role(user, opco_id)
    return role is not None and has_permission("opco", role, Perm.EVALUATE_TENDERS)


def scores_this_tender(user: User, tender: Tender) -> bool:
    """Whether ``user`` scores (or may still score) ``tender``, for the sealing rule (module docstring).

    An evaluator of the tender (declaration signed) scores; so does any member allowed to evaluate who does
    not manage tenders. A tender manager who has not signed the declaration does not score.
    """
    if declaration_of(tender, user) is not None:
        return True
    role = _role(user, tender.opco_id)
    return (
        role is not None
        and has_permission("opco", role, Perm.EVALUATE_TENDERS)
        and not has_permission("opco", role, Perm.MANAGE_TENDERS)
    )


def _check_evaluator(user: User, tender: Tender) -> None:
    if not is_evaluator(user, tender.opco_id):
        raise DomainError(
            "Seuls les membres de l'OPCO autorisés à évaluer les appels d'offres peuvent noter les réponses."
        )


# --- Reading the responses ------------------------------------------------------------------------------


def received_responses(tender: Tender, now: datetime) -> list[TenderResponse]:
    """The responses the OPCO may read (none before the deadline), by lot then submission time."""
    if not deadline_passed(tender, now):
        return []
    return list(
        db.session.scalars(
            select(TenderResponse)
            .join(TenderLot, TenderLot.id == TenderResponse.lot_id)
            .where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED))
            .order_by(TenderLot.number, TenderResponse.submitted_at, TenderResponse.id)
        )
    )


def candidates(tender: Tender) -> list[str]:
    """Names of the organisations that submitted a response (the people an evaluator declares no link with)."""
    names = db.session.scalars(
        select(TrainingProvider.name)
        .join(TenderResponse, TenderResponse.provider_id == TrainingProvider.id)
        .where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED))
        .distinct()
    )
    return sorted(names, key=str.lower)


# --- Admissibility --------------------------------------------------------------------------------------


def missing_documents(response: TenderResponse, tender: Tender) -> list[str]:
    """French labels of the documents the tender requires and the response lacks."""
    attached = {d.kind for d in response.documents}
    return [
        TenderDocumentKind.LABELS.get(code, code)
        for code in tender.required_documents or []
        if code not in attached
    ]


def automatic_checks(response: TenderResponse, tender: Tender) -> dict[str, bool]:
    """Qualiopi « actions de formation » valid on the deadline day, NDA of 11 digits, required documents."""
    provider = response.provider
    return {
        "qualiopi": qualiopi_is_valid(
            provider.qualiopi_expires_on, deadline_date(tender), provider.qualiopi_category_list
        ),
        "nda": bool(re.fullmatch(r"\d{11}", provider.nda or "")),
        "documents": not missing_documents(response, tender),
    }


def check_details(response: TenderResponse, tender: Tender) -> dict[str, str]:
    """A short French explanation for each failed automatic check."""
    provider = response.provider
    details = {}
    checks = automatic_checks(response, tender)
    if not checks["qualiopi"]:
        if "actions_formation" not in provider.qualiopi_category_list:
            details["qualiopi"] = "le certificat ne couvre pas la catégorie « Actions de formation »"
        else:
            details["qualiopi"] = (
                f"certificat expiré le {date_fr(provider.qualiopi_expires_on)}, "
                f"avant la date limite du {date_fr(deadline_date(tender))}"
            )
    if not checks["nda"]:
        details["nda"] = "aucun numéro de déclaration d'activité valide (11 chiffres)"
    if not checks["documents"]:
        details["documents"] = "manquant : " + ", ".join(missing_documents(response, tender))
    return details


def decide_admissibility(
    response: TenderResponse,
    actor: User,
    opco: Opco,
    *,
    admissible: bool,
    checklist: dict[str, bool],
    reason: str | None,
    now: datetime,
) -> None:
    """Declare a submitted response admissible or inadmissible (with a reason), storing every check.

    Admissible needs every automatic check passed and the whole manual checklist ticked.
    """
    tender = response.tender
    _check_owner(tender, opco)
    _check_readable(tender, now)
    _check_under_analysis(tender, "de statuer sur la recevabilité des réponses")
    if response.status != R.SUBMITTED:
        raise DomainError(
            f"La recevabilité de la réponse {of_name(response.provider.name)} est déjà décidée "
            f"(« {response.status_label} »)."
        )
    automatic = automatic_checks(response, tender)
    manual = {code: bool((checklist or {}).get(code)) for code in MANUAL_CHECKLIST}
    refuse_control(reason, "reason")
    reason = " ".join((reason or "").split()) or None
    if reason and len(reason) > MAX_REASON:
        raise DomainError(f"Le motif ne peut pas dépasser {MAX_REASON} caractères.", field="reason")
    if admissible:
        failed = [AUTOMATIC_CHECKS[code] for code, ok in automatic.items() if not ok]
        if failed:
            details = check_details(response, tender)
            raise DomainError(
                "Cette réponse ne peut pas être déclarée recevable : "
                + " ; ".join(f"{AUTOMATIC_CHECKS[c]} ({details[c]})" for c, ok in automatic.items() if not ok)
                + ". Déclarez-la irrecevable en indiquant le motif."
            )
        unticked = [MANUAL_CHECKLIST[code] for code, ok in manual.items() if not ok]
        if unticked:
            raise DomainError(
                "Pour déclarer la réponse recevable, cochez chaque point de la vérification : "
                + ", ".join(f"« {label} »" for label in unticked)
                + ". Sinon, déclarez-la irrecevable en indiquant le motif.",
                field="checklist",
            )
        event = "declare_admissible"
    else:
        if not reason:
            raise DomainError("Indiquez le motif d'irrecevabilité.", field="reason")
        event = "declare_inadmissible"
    response.admissibility_checks = {"automatic": automatic, "manual": manual}
    response.admissibility_reason = None if admissible else reason
    response.checked_by_id = actor.id
    response.checked_at = now
    response_transition(response, event, actor, actor_org_id=opco.id, reason=None if admissible else reason)


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
    _check_evaluator(evaluator, tender)
    _check_readable(tender, now)
    status = effective_status(tender, now)
    if status not in (TenderStatus.CLOSED, TenderStatus.UNDER_ANALYSIS):
        raise DomainError(
            f"La déclaration se signe pendant l'analyse ; l'appel d'offres est « {TenderStatus.LABELS[status]} »."
        )
    existing = declaration_of(tender, evaluator)
    if existing is not None:
        return existing
    role = _role(evaluator, tender.opco_id)
    if role is not None and has_permission("opco", role, Perm.MANAGE_TENDERS):
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
    _check_evaluator(evaluator, tender)
    _check_readable(tender, now)
    _check_under_analysis(tender, "de noter les réponses")
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


def _sheets_by_response(response_ids: list[int]) -> dict[int, list[ScoreSheet]]:
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
    sheets = _sheets_by_response([r.id for r in responses])
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


def declared_evaluators(tender: Tender) -> set[int]:
    """Ids of the members who signed the conflict-of-interest statement for ``tender`` (its evaluators)."""
    return set(
        db.session.scalars(
            select(EvaluatorDeclaration.evaluator_id).where(EvaluatorDeclaration.tender_id == tender.id)
        )
    )


def _scored_by_all(
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
    sheets = _sheets_by_response([r.id for r in responses])
    evaluators = declared_evaluators(tender)
    return [
        lot.number
        for lot in tender.lots
        if _scored_by_all([r for r in responses if r.lot_id == lot.id], sheets, evaluators)
    ]


# --- Award ----------------------------------------------------------------------------------------------


def _euros_text(cents: int) -> str:
    """« 1 234,56 » as the catalogue's price field expects it."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", " ") + f",{rest:02d}"


def _campaign_year(valid_from: date, today: date) -> int:
    years = catalogue.campaign_years(today)
    return valid_from.year if valid_from.year in years else today.year


def _draft_action(tender: Tender, lot: TenderLot, opco: Opco, actor: User, valid_from: date, today: date):
    data = catalogue.ActionInput(
        title=lot.title,
        reference=f"{tender.reference}-L{lot.number}",
        theme_code=lot.theme_code,
        modality="presentiel",
        duration_hours=lot.duration_hours or 7,
        campaign_year=_campaign_year(valid_from, today),
        price=_euros_text(lot.max_price_cents),
        is_national=lot.region_code is None,
        region_codes=[lot.region_code] if lot.region_code else [],
        funding_shares={code: 100 for code, *_ in SIZE_BANDS},
    )
    try:
        return catalogue.create_action(opco, data, actor, today=today)
    except catalogue.InvalidAction as error:
        raise DomainError(
            f"Lot n° {lot.number} : l'action collective ne peut pas être créée ({error.message})"
        ) from None


def _check_ranking_seen(
    tender: Tender, actor: User, responses: list[TenderResponse], sheets: dict[int, list[ScoreSheet]]
) -> None:
    """The award is decided on the ranking: refused to whom the sealing rule does not show it yet (a POST sent
    without the form must not award blind, nor before the evaluators have finished)."""
    may_score = scores_this_tender(actor, tender)
    evaluators = set() if may_score else declared_evaluators(tender)
    for lot in tender.lots:
        for response in (r for r in responses if r.lot_id == lot.id and r.status in SCORED):
            sent = {s.evaluator_id for s in sheets.get(response.id, []) if s.submitted_at is not None}
            if may_score and actor.id not in sent:
                raise DomainError(
                    f"Lot n° {lot.number} : envoyez d'abord votre grille pour la réponse de "
                    f"{response.provider.name} ; le classement, puis l'attribution, s'affichent ensuite."
                )
            if not may_score and (not sent or not evaluators <= sent):
                raise DomainError(
                    f"Lot n° {lot.number} : chaque évaluateur doit d'abord envoyer sa grille pour la réponse de "
                    f"{response.provider.name}."
                )


def award(
    tender: Tender,
    actor: User,
    opco: Opco,
    winners: dict[int, list[int]],
    *,
    valid_from: date | None,
    valid_until: date | None,
    now: datetime,
) -> dict[int, list[Referencing]]:
    """Award the tender: retain the chosen responses per lot and reference them; returns referencings per lot.

    Lots without a winner are declared unsuccessful. Refused as a whole, before any change, when a rule fails.
    """
    _check_owner(tender, opco)
    _check_under_analysis(tender, "d'attribuer l'appel d'offres")
    today = paris_today(now)
    if valid_from is None:
        raise DomainError("Indiquez la date de début des référencements.", field="valid_from")
    if valid_until is None:
        raise DomainError("Indiquez la date de fin des référencements.", field="valid_until")
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not 2000 <= value.year <= 2100:
            raise DomainError("Indiquez une date entre 2000 et 2100.", field=name)
    if valid_until < valid_from:
        raise DomainError(
            "La date de fin des référencements doit être postérieure à leur date de début.",
            field="valid_until",
        )
    if valid_until < today:
        raise DomainError("La date de fin des référencements est déjà passée.", field="valid_until")

    responses = list(
        db.session.scalars(
            select(TenderResponse).where(
                TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED)
            )
        )
    )
    undecided = [r for r in responses if r.status == R.SUBMITTED]
    if undecided:
        names = ", ".join(sorted({r.provider.name for r in undecided}))
        raise DomainError(f"Statuez d'abord sur la recevabilité de chaque réponse (en attente : {names}).")
    by_id = {r.id: r for r in responses}
    sheets = _sheets_by_response([r.id for r in responses if r.status in SCORED])
    lots = {lot.id: lot for lot in tender.lots}
    unknown_lots = [lot_id for lot_id in winners if lot_id not in lots]
    if unknown_lots:
        raise DomainError("Un des lots choisis n'appartient pas à cet appel d'offres.")

    chosen: dict[int, list[TenderResponse]] = {}
    for lot in tender.lots:
        ids = list(dict.fromkeys(winners.get(lot.id) or []))
        if len(ids) > 1 and not tender.multi_award:
            raise DomainError(
                f"Lot n° {lot.number} : l'appel d'offres est mono-attributaire, retenez une seule réponse par lot.",
                field=f"lot_{lot.id}",
            )
        picked = []
        for response_id in ids:
            response = by_id.get(response_id)
            if response is None or response.lot_id != lot.id:
                raise DomainError(
                    f"Lot n° {lot.number} : la réponse choisie n'appartient pas à ce lot.",
                    field=f"lot_{lot.id}",
                )
            if response.status != R.ADMISSIBLE:
                raise DomainError(
                    f"Lot n° {lot.number} : la réponse {of_name(response.provider.name)} n'est pas recevable, "
                    "elle ne peut pas être retenue.",
                    field=f"lot_{lot.id}",
                )
            if not any(s.submitted_at is not None for s in sheets.get(response.id, [])):
                raise DomainError(
                    f"Lot n° {lot.number} : la réponse {of_name(response.provider.name)} n'a encore aucune grille "
                    "de notation envoyée.",
                    field=f"lot_{lot.id}",
                )
            picked.append(response)
        chosen[lot.id] = picked

    _check_ranking_seen(tender, actor, responses, sheets)

    # Everything the catalogue would refuse, checked before any change.
    for lot in tender.lots:
        action = lot.action
        if chosen[lot.id] and action is not None and action.status == ActionStatus.ARCHIVED:
            raise DomainError(
                f"Lot n° {lot.number} : l'action « {action.title} » est archivée, elle ne peut plus recevoir "
                "de référencement. Remettez-la en brouillon avant d'attribuer."
            )
        for response in chosen[lot.id]:
            problem = catalogue.qualiopi_problem(response.provider, today)
            if problem:
                raise DomainError(f"Lot n° {lot.number} : {problem}")
            price = response.price_per_trainee_cents
            ceiling = action.price_cents if action is not None else lot.max_price_cents
            if price is None or price <= 0:
                raise DomainError(
                    f"Lot n° {lot.number} : la réponse {of_name(response.provider.name)} n'indique pas de prix par "
                    "stagiaire."
                )
            if price > ceiling:
                raise DomainError(
                    f"Lot n° {lot.number} : le prix proposé par {response.provider.name} "
                    f"({money_fr(price, 'HT')}) dépasse le prix plafond ({money_fr(ceiling, 'HT')})."
                )
            if action is not None:
                taken = db.session.scalar(
                    select(Referencing.id).where(
                        Referencing.action_id == action.id,
                        Referencing.provider_id == response.provider_id,
                        Referencing.status != ReferencingStatus.WITHDRAWN,
                    )
                )
                if taken is not None:
                    raise DomainError(
                        f"Lot n° {lot.number} : {response.provider.name} est déjà référencé sur l'action "
                        f"« {action.title} »."
                    )

    # Results: scores and ranks on every scored response.
    ranks = rankings(tender)
    for rows in ranks.values():
        for row in rows:
            if row.score is not None:
                row.response.final_score = float(display_score(row.score))
                row.response.rank = row.rank

    created: dict[int, list[Referencing]] = {}
    for lot in tender.lots:
        picked = chosen[lot.id]
        if picked:
            if lot.action_id is None:
                action = _draft_action(tender, lot, opco, actor, valid_from, today)
                lot.action_id = action.id
                lot.action = action
            created[lot.id] = [
                catalogue.reference_provider(
                    lot.action,
                    response.provider,
                    valid_from,
                    valid_until,
                    response.price_per_trainee_cents,
                    actor,
                    today=today,
                )
                for response in picked
            ]
            lot.status = "awarded"
        else:
            lot.status = "unsuccessful"
        picked_ids = {r.id for r in picked}
        for response in responses:
            if response.lot_id != lot.id or response.status != R.ADMISSIBLE:
                continue
            event = "retain" if response.id in picked_ids else "reject"
            response_transition(response, event, actor, actor_org_id=opco.id)

    tender_transition(tender, "award", actor)
    tender.awarded_at = now
    db.session.flush()
    _notify_results(tender, responses, ranks)
    return created


# --- Notifications --------------------------------------------------------------------------------------


def tender_contacts(provider_ids: list[int]) -> dict[int, list[str]]:
    """Per organisation, the e-mail addresses of its members allowed to answer tenders (admins included)."""
    return accounts.member_emails(provider_ids, "provider", Perm.RESPOND_TENDERS)


def _notify_results(tender: Tender, responses: list[TenderResponse], ranks: dict[int, list[RankRow]]) -> None:
    counts = {lot_id: sum(1 for row in rows if row.score is not None) for lot_id, rows in ranks.items()}
    contacts = tender_contacts(sorted({r.provider_id for r in responses}))
    for response in sorted(responses, key=lambda r: (r.lot.number, r.id)):
        template = "tender_result_retained" if response.status == R.RETAINED else "tender_result_not_retained"
        for email in contacts.get(response.provider_id, []):
            outbox.queue_email(
                email,
                template,
                organisation_id=response.provider_id,
                tender=tender,
                response=response,
                lot=response.lot,
                score=response.final_score,
                rank=response.rank,
                ranked=counts.get(response.lot_id, 0),
            )


def referencing_of(response: TenderResponse) -> Referencing | None:
    """The referencing a retained response led to (on its lot's action), if any."""
    if response.lot.action_id is None:
        return None
    return db.session.scalar(
        select(Referencing).where(
            Referencing.action_id == response.lot.action_id, Referencing.provider_id == response.provider_id
        )
    )
