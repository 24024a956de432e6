"""The award of a call for tenders' lots, once its responses are evaluated (kept apart from ``evaluation`` and
``evaluation_scores``: it decides on their ranking, then writes referencings through the catalogue).

Rules held here:

- The award retains chosen admissible, scored responses (at most one per lot when the tender is single-award),
  rejects the other admissible ones, declares lots without a winner unsuccessful, writes scores and ranks,
  references each winner on the lot's collective action (a draft action is created from the lot when it has
  none) and tells every responding organisation its result. Every refusal is raised before anything changes.
- The award is refused to whom the sealing rule (``evaluation_scores``) does not show every lot's ranking yet.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import money_fr, of_name, paris_today
from marketplace.models import (
    ActionStatus,
    Opco,
    Referencing,
    ReferencingStatus,
    ResponseStatus,
    ScoreSheet,
    Tender,
    TenderLot,
    TenderResponse,
    User,
)
from marketplace.services import accounts, action_input, catalogue, outbox, referencings
from marketplace.services.errors import DomainError
from marketplace.services.evaluation import RECEIVED, SCORED, check_owner, check_under_analysis
from marketplace.services.evaluation_scores import (
    RankRow,
    declared_evaluators,
    display_score,
    rankings,
    scores_this_tender,
    sheets_by_response,
)
from marketplace.services.identifiers import SIZE_BANDS
from marketplace.services.roles import Perm
from marketplace.services.tender_states import response_transition, tender_transition

R = ResponseStatus


# --- Award ----------------------------------------------------------------------------------------------


def _euros_text(cents: int) -> str:
    """« 1 234,56 » as the catalogue's price field expects it."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", " ") + f",{rest:02d}"


def _campaign_year(valid_from: date, today: date) -> int:
    years = action_input.campaign_years(today)
    return valid_from.year if valid_from.year in years else today.year


def _draft_action(tender: Tender, lot: TenderLot, opco: Opco, actor: User, valid_from: date, today: date):
    data = action_input.ActionInput(
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
    except action_input.InvalidAction as error:
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
    check_owner(tender, opco)
    check_under_analysis(tender, "d'attribuer l'appel d'offres")
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
    sheets = sheets_by_response([r.id for r in responses if r.status in SCORED])
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
            problem = referencings.qualiopi_problem(response.provider, today)
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
                referencings.reference_provider(
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
