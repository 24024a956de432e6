"""An OPCO's catalogue: collective actions (create, edit, publish, archive) and their funding preview.

Rules held here:

- An action's status changes only through :func:`transition` (machine ``action``); publishing refuses an
  incomplete action (no objectives, no eligible size band, no branch) and stamps ``published_at``.
- The form and its validation are in :mod:`action_input`; referencings in :mod:`referencings`; the read
  helpers of lists and public pages in :mod:`catalogue_reads`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ActionBranch,
    ActionRegion,
    ActionStatus,
    CollectiveAction,
    FundingShare,
    Opco,
    Theme,
    User,
)
from marketplace.services import (
    action_input,
    action_lists,  # noqa: F401 - its listener versions the lists edited here
    audit,
    funding,
    state,
)
from marketplace.services import text as _text
from marketplace.services.action_input import ActionInput, CleanAction
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import SIZE_BANDS

# --- State machines ---------------------------------------------------------------------------------

ACTION_MACHINE = state.machine(
    "action",
    ActionStatus.LABELS,
    publish=(("draft",), "published", "Publier"),
    archive=(("draft", "published"), "archived", "Archiver"),
    # An archived action comes back as a draft: it must be checked and published again.
    unarchive=(("archived",), "draft", "Remettre en brouillon"),
)

# Events a person may trigger from the interface.
ACTION_EVENTS = ("publish", "archive", "unarchive")


search_key = _text.search_key  # lower-case and accent-free form of a text, for substring searches


def search_text_for(action: CollectiveAction) -> str:
    """Reference, title, objectives and theme, lower-cased; the accent-free copy is appended when it differs.

    Both forms are kept so that a query typed with or without accents (« sécurité », « securite ») matches.
    Code that writes actions without ``create_action``/``update_action`` (demo data, imports) sets
    ``action.search_text = search_text_for(action)``.
    """
    theme = db.session.get(Theme, action.theme_code)
    lowered = " ".join(
        part
        for part in (action.reference, action.title, action.objectives, theme.label if theme else "")
        if part
    ).lower()
    plain = search_key(lowered)
    return lowered if plain == lowered else f"{lowered} {plain}"


_TRACKED = (
    "title",
    "reference",
    "theme_code",
    "modality",
    "duration_hours",
    "campaign_year",
    "price_cents",
    "is_national",
    "objectives",
    "programme",
    "prerequisites",
    "target_public",
    "assessment_method",
    "cap_per_company_per_session",
    "cap_per_company_per_year",
    "cancellation_days",
    "requires_approval",
    "funding_basis",
    "funding_flow",
    "dedit_rate_pct",
)


def _snapshot(action: CollectiveAction) -> dict:
    return {
        **{name: getattr(action, name) for name in _TRACKED},
        "regions": sorted(action.region_codes),
        "branches": sorted(action.idcc_codes),
        "shares": {s.size_band: s.percent for s in action.funding_shares},
    }


def _apply(action: CollectiveAction, clean: CleanAction) -> None:
    for name in _TRACKED:
        setattr(action, name, getattr(clean, name))
    # Children are synchronised (kept, added, removed) rather than replaced: the unit of work inserts
    # before it deletes, and a replaced row would collide with its own unique constraint.
    wanted_regions = set(clean.region_codes)
    for row in list(action.regions):
        if row.region_code not in wanted_regions:
            action.regions.remove(row)
    for code in sorted(wanted_regions - set(action.region_codes)):
        action.regions.append(ActionRegion(region_code=code))
    wanted_branches = set(clean.idcc_codes)
    for row in list(action.branches):
        if row.idcc not in wanted_branches:
            action.branches.remove(row)
    for code in sorted(wanted_branches - set(action.idcc_codes)):
        action.branches.append(ActionBranch(idcc=code))
    for row in list(action.funding_shares):
        if row.size_band not in clean.shares:
            action.funding_shares.remove(row)
        else:
            row.percent = clean.shares[row.size_band]
    existing = {row.size_band for row in action.funding_shares}
    for code, percent in clean.shares.items():
        if code not in existing:
            action.funding_shares.append(FundingShare(size_band=code, percent=percent))
    action.search_text = search_text_for(action)


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def create_action(
    opco: Opco, data: ActionInput, actor: User | None, *, today: date | None = None
) -> CollectiveAction:
    """Create a draft action in the OPCO's catalogue after validating every field (InvalidAction lists them all)."""
    clean = action_input.clean(opco, data, None, today or paris_today())
    action = CollectiveAction(opco_id=opco.id, status=ActionStatus.DRAFT)
    _apply(action, clean)
    db.session.add(action)
    db.session.flush()
    audit.record(
        "catalogue.action_created",
        organisation_id=opco.id,
        actor=actor,
        obj=action,
        data={"reference": action.reference, "title": action.title},
    )
    return action


def update_action(
    action: CollectiveAction, data: ActionInput, actor: User | None, *, today: date | None = None
) -> list[str]:
    """Change an action (published ones too, except their reference); returns the names of the changed fields."""
    opco = db.session.get(Opco, action.opco_id)
    clean = action_input.clean(opco, data, action, today or paris_today())
    before = _snapshot(action)
    _apply(action, clean)
    db.session.flush()
    after = _snapshot(action)
    changed = [name for name in after if after[name] != before[name]]
    if changed:
        audit.record(
            "catalogue.action_updated",
            organisation_id=action.opco_id,
            actor=actor,
            obj=action,
            data={
                "reference": action.reference,
                "status": action.status,
                "changed": changed,
                "before": {k: _jsonable(before[k]) for k in changed},
                "after": {k: _jsonable(after[k]) for k in changed},
            },
        )
    return changed


def publish_problems(action: CollectiveAction) -> list[str]:
    """Why the action cannot be published yet (French, empty when it can): what a company would miss."""
    problems = []
    if not (action.objectives or "").strip():
        problems.append("indiquez les objectifs de la formation")
    if not action.funding_shares:
        problems.append("indiquez la part prise en charge pour au moins une tranche d'effectif")
    if not action.branches:
        problems.append("ouvrez l'action à au moins une branche (IDCC) de votre OPCO")
    if not action.is_national and not action.regions:
        problems.append("cochez au moins une région ou rendez l'action nationale")
    return problems


def transition(action: CollectiveAction, event: str, actor: User | None, reason: str | None = None) -> str:
    """Publish, archive or put back in draft; publishing checks completeness and stamps ``published_at``.

    Returns the previous status. Refusals are DomainError with a French message.
    """
    if event not in ACTION_MACHINE.transitions:
        raise DomainError("Cette action n'est pas possible.")
    if event == "publish" and ACTION_MACHINE.can(action.status, event):
        problems = publish_problems(action)
        if problems:
            raise DomainError("Publication impossible : " + " ; ".join(problems) + ".")
    previous = ACTION_MACHINE.apply(
        action,
        event,
        actor,
        organisation_id=action.opco_id,
        reason=reason,
        data={"reference": action.reference},
    )
    if event == "publish":
        action.published_at = paris_today()
    return previous


# --- Funding preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingPreviewRow:
    size_band: str
    label: str
    share_percent: int | None  # None: the band is not eligible
    price_cents: int
    funded_cents: int
    remainder_cents: int

    @property
    def eligible(self) -> bool:
        return self.share_percent is not None


def funding_preview(action: CollectiveAction, price_cents: int | None = None) -> list[FundingPreviewRow]:
    """For each size band, in order: share funded by the OPCO, amount funded and remainder per trainee (HT)."""
    rows = []
    for code, label, _low, _high in SIZE_BANDS:
        f = funding.for_action(action, code, price_cents)
        rows.append(
            FundingPreviewRow(code, label, f.share_percent, f.price_cents, f.funded_cents, f.remainder_cents)
        )
    return rows


def max_share(action: CollectiveAction) -> int | None:
    """Highest share funded over the eligible size bands (for « pris en charge jusqu'à N % »)."""
    return max((s.percent for s in action.funding_shares), default=None)
