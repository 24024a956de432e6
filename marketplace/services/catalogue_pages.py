"""Read models of the OPCO's catalogue pages: the list, an action's page, the choices of its forms.

Kept apart from ``catalogue`` (which holds the rules and the changes) so the views hold no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    ActionStatus,
    BudgetEnvelope,
    CollectiveAction,
    Modality,
    Opco,
    Referencing,
)
from marketplace.services import action_input, catalogue, catalogue_reads, reference_lists, referencings
from marketplace.services.identifiers import format_siret
from marketplace.services.pagination import Page, paginate


@dataclass
class ActionList:
    page: Page[CollectiveAction]
    counts: dict[str, int]
    sessions: dict[int, int]
    referenced: dict[int, list[Referencing]]


def action_list(opco: Opco, status: str, page: int, today: date | None = None) -> ActionList:
    """A page of the OPCO's actions (by campaign year, newest first, then title), with what each row shows.

    ``status`` outside the known ones shows every action. A constant number of queries whatever the rows.
    """
    query = select(CollectiveAction).where(CollectiveAction.opco_id == opco.id)
    if status in ActionStatus.LABELS:
        query = query.where(CollectiveAction.status == status)
    rows = paginate(
        query.order_by(CollectiveAction.campaign_year.desc(), CollectiveAction.title, CollectiveAction.id),
        page,
    )
    ids = [a.id for a in rows.items]
    return ActionList(
        page=rows,
        counts=catalogue_reads.status_counts(opco.id),
        sessions=catalogue_reads.session_counts(ids),
        referenced=referencings.active_referencings(ids, today),
    )


@dataclass
class ActionDetail:
    referencings: list[Referencing]
    preview: list[catalogue.FundingPreviewRow]
    problems: list[str]
    events: list[str]
    sessions: int
    envelope: BudgetEnvelope | None = None  # the budget the action draws on (read-only here)


def action_detail(action: CollectiveAction) -> ActionDetail:
    """What an action's page shows: its referencings, funding per size band, what blocks publishing."""
    referencings = list(
        db.session.scalars(
            select(Referencing).where(Referencing.action_id == action.id).order_by(Referencing.id)
        )
    )
    return ActionDetail(
        referencings=referencings,
        preview=catalogue.funding_preview(action),
        problems=catalogue.publish_problems(action) if action.status == ActionStatus.DRAFT else [],
        events=[e for e in catalogue.ACTION_MACHINE.allowed(action.status) if e in catalogue.ACTION_EVENTS],
        sessions=catalogue_reads.session_counts([action.id]).get(action.id, 0),
        envelope=db.session.get(BudgetEnvelope, action.envelope_id) if action.envelope_id else None,
    )


@dataclass
class ActionChoices:
    """The lists an action form offers, as (value, label) pairs."""

    themes: list[tuple[str, str]]
    modalities: list[tuple[str, str]]
    years: list[int]
    regions: list[tuple[str, str]]
    branches: list[tuple[str, str]]


def action_choices(
    opco: Opco, action: CollectiveAction | None = None, today: date | None = None
) -> ActionChoices:
    """Themes, modalities, campaign years (an existing action keeps its own), regions and the OPCO's branches."""
    years = action_input.campaign_years(today)
    if action is not None and action.campaign_year not in years:
        years = sorted({*years, action.campaign_year})
    return ActionChoices(
        themes=[(t.code, f"{t.code} – {t.label}") for t in reference_lists.themes()],
        modalities=list(Modality.LABELS.items()),
        years=years,
        regions=[(r.code, r.name) for r in reference_lists.regions()],
        branches=[(b.idcc, f"IDCC {b.idcc} – {b.branch.label}") for b in opco.branches],
    )


@dataclass(frozen=True)
class ProviderOption:
    """An organisation offered on the referencing form; ``disabled`` when its Qualiopi does not allow it."""

    id: int
    label: str
    disabled: bool


def provider_options(action: CollectiveAction, today: date) -> list[ProviderOption]:
    """Every organisation not yet referenced on the action, with SIRET and Qualiopi validity, by name."""
    options = []
    for provider in referencings.referenceable_providers(action):
        problem = referencings.qualiopi_problem(provider, today)
        if problem is None:
            validity = f"Qualiopi valide jusqu'au {provider.qualiopi_expires_on:%d/%m/%Y}"
        elif "actions_formation" not in provider.qualiopi_category_list:
            validity = "non certifié Qualiopi « Actions de formation »"
        else:
            validity = f"Qualiopi expiré le {provider.qualiopi_expires_on:%d/%m/%Y}"
        label = f"{provider.name} — SIRET {format_siret(provider.siret)} — {validity}"
        options.append(ProviderOption(provider.id, label, problem is not None))
    return options


def default_referencing_period(action: CollectiveAction, today: date) -> tuple[date, date]:
    """A new referencing runs from today to the end of the action's campaign (or a year when it is over)."""
    end_of_campaign = date(action.campaign_year, 12, 31)
    return today, end_of_campaign if end_of_campaign >= today else today + timedelta(days=365)


def referencing_of_action(action: CollectiveAction, referencing_id: int) -> Referencing | None:
    """The referencing only if it belongs to this action (the action is already the OPCO's)."""
    return db.session.scalar(
        select(Referencing).where(Referencing.id == referencing_id, Referencing.action_id == action.id)
    )
