"""An OPCO's catalogue: collective actions (create, edit, publish, archive), referencings, funding preview.

Rules held here:

- An action's status changes only through :func:`transition` (machine ``action``); publishing refuses an
  incomplete action (no objectives, no eligible size band, no branch) and stamps ``published_at``.
- Eligibility is stored explicitly: an empty branch list means "every branch the OPCO covers" and is saved
  as one row per branch; a size band without a funding share is not eligible.
- A referencing names a training organisation for an action, for a period, at a price no higher than the
  action's ceiling; an organisation whose Qualiopi certificate (« actions de formation ») is not valid
  cannot be referenced. Its status changes only through :func:`transition_referencing`.
- Read helpers for the public catalogue return published actions only, in a constant number of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import of_name, paris_today
from marketplace.models import (
    ActionBranch,
    ActionRegion,
    ActionStatus,
    CollectiveAction,
    FundingShare,
    Modality,
    Opco,
    Referencing,
    ReferencingStatus,
    Region,
    SessionStatus,
    Theme,
    TrainingProvider,
    TrainingSession,
    User,
)
from marketplace.models.limits import LONG_TEXT, too_long
from marketplace.services import (
    action_lists,  # noqa: F401 - its listener versions the lists edited here
    audit,
    funding,
    search_index,
    state,
)
from marketplace.services import text as _text
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.identifiers import SIZE_BANDS, qualiopi_is_valid
from marketplace.services.text import has_control

# --- State machines ---------------------------------------------------------------------------------

ACTION_MACHINE = state.machine(
    "action",
    ActionStatus.LABELS,
    publish=(("draft",), "published", "Publier"),
    archive=(("draft", "published"), "archived", "Archiver"),
    # An archived action comes back as a draft: it must be checked and published again.
    unarchive=(("archived",), "draft", "Remettre en brouillon"),
)

REFERENCING_MACHINE = state.machine(
    "referencing",
    ReferencingStatus.LABELS,
    suspend=(("active",), "suspended", "Suspendre"),
    reactivate=(("suspended",), "active", "Réactiver"),
    withdraw=(("active", "suspended"), "withdrawn", "Retirer le référencement"),
    # Used by reference_provider when a withdrawn organisation is referenced again (new period, new price).
    renew=(("withdrawn",), "active", "Référencer à nouveau"),
)

# Events a person may trigger from the interface (``renew`` goes through reference_provider).
ACTION_EVENTS = ("publish", "archive", "unarchive")
REFERENCING_EVENTS = ("suspend", "reactivate", "withdraw")
REASON_REQUIRED = {"suspend", "withdraw"}

MAX_PRICE_CENTS = 10_000_000  # 100 000 € HT per trainee: anything above is a typing error
MAX_DURATION_HOURS = Decimal("2000")
MAX_CANCELLATION_DAYS = 60
MAX_LONG_TEXT = 10_000  # objectives, programme, prerequisites, target public
LONG_TEXTS = ("objectives", "programme", "prerequisites", "target_public", "assessment_method")
# Control characters (NUL included) other than tab and line breaks: never typed, refused in every text field.
# A referencing period outside these years is a typing error (and would overflow date arithmetic).
REFERENCING_DATE_MIN = date(2000, 1, 1)
REFERENCING_DATE_MAX = date(2100, 12, 31)


class InvalidAction(InvalidForm):
    """Several fields of an action form are wrong; ``errors`` maps field name → French message."""


def band_key(code: str) -> str:
    """A form-safe key for a size band code (« <11 » → « lt11 », « 11-49 » → « 11_49 », « 300+ » → « 300plus »)."""
    return code.replace("<", "lt").replace("+", "plus").replace("-", "_")


def share_field(code: str) -> str:
    """Name of the field carrying the funding share of a size band (errors are reported on it)."""
    return f"share_{band_key(code)}"


# --- Parsing French numbers -------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _decimal_fr(text: str | int | Decimal | None) -> Decimal | None:
    """« 1 200,50 », « 1200.50 », « 1.200,50 » → Decimal; None when empty; InvalidOperation when not a number."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise InvalidOperation
    if isinstance(text, int | Decimal):
        return Decimal(text)
    cleaned = _SPACES.sub("", str(text)).replace("€", "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        # The last separator is the decimal one; the other groups thousands.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    else:
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", cleaned):
        raise InvalidOperation
    return Decimal(cleaned)


def parse_euros(value: str | int | Decimal | None, field_name: str = "price", label: str = "Le prix") -> int:
    """Euros as typed (« 1 200,50 », « 1200.5 », « 950 € ») to integer cents; more than 0 and at most 100 000 €."""
    try:
        amount = _decimal_fr(value)
    except InvalidOperation:
        raise DomainError(
            f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name
        ) from None
    if amount is None:
        raise DomainError(f"{label} est obligatoire.", field=field_name)
    if not amount.is_finite():  # « NaN », « Infinity »
        raise DomainError(f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name)
    if amount.adjusted() > 6 or amount * 100 > MAX_PRICE_CENTS:  # adjusted(): no overflow on 10**1000000
        raise DomainError(f"{label} ne peut pas dépasser 100 000 € par stagiaire.", field=field_name)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            f"{label} ne peut pas avoir plus de deux chiffres après la virgule.", field=field_name
        )
    cents = int(amount * 100)
    if cents <= 0:
        raise DomainError(f"{label} doit être supérieur à 0 €.", field=field_name)
    if cents > MAX_PRICE_CENTS:
        raise DomainError(f"{label} ne peut pas dépasser 100 000 € par stagiaire.", field=field_name)
    return cents


def _money(cents: int) -> str:
    """« 1 200,50 € HT » (narrow no-break space between thousands, as the templates' money filter)."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€ HT"


def _optional_int(value, field_name: str, message: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not _SPACES.sub("", value)):
        return None
    if isinstance(value, bool):
        raise DomainError(message, field=field_name)
    text = _SPACES.sub("", str(value))
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise DomainError(message, field=field_name)
    return int(text)


# --- Actions ----------------------------------------------------------------------------------------


@dataclass
class ActionInput:
    """What OPCO staff type for an action; numbers may be given as French text (« 10,5 », « 1 200,50 »)."""

    title: str
    reference: str
    theme_code: str
    modality: str
    duration_hours: str | int | Decimal
    campaign_year: str | int
    price: str | int | Decimal  # negotiated price ceiling per trainee, in euros HT
    is_national: bool = True
    region_codes: list[str] = field(default_factory=list)
    # Empty: every branch the OPCO covers (stored explicitly).
    idcc_codes: list[str] = field(default_factory=list)
    # Size band code → percent funded (0..100); a band absent or empty is not eligible.
    funding_shares: dict[str, str | int | None] = field(default_factory=dict)
    objectives: str = ""
    programme: str = ""
    prerequisites: str = ""
    target_public: str = ""
    # Modalités d'évaluation (L6353-8): printed on the convocation.
    assessment_method: str = ""
    cap_per_company_per_session: str | int | None = None
    cap_per_company_per_year: str | int | None = None
    cancellation_days: str | int | None = 10
    requires_approval: bool = False
    # « ht » or « ttc »: the price the funded share applies to; empty: the OPCO's rule (Opco.funding_basis).
    funding_basis: str | None = None
    # « subrogation » or « direct_purchase »; empty: the OPCO's setting. Indemnité de dédit, % of the price HT.
    funding_flow: str | None = None
    dedit_rate_pct: str | int | None = None


@dataclass(frozen=True)
class _CleanAction:
    title: str
    reference: str
    theme_code: str
    modality: str
    duration_hours: Decimal
    campaign_year: int
    price_cents: int
    is_national: bool
    region_codes: list[str]
    idcc_codes: list[str]
    shares: dict[str, int]
    objectives: str
    programme: str
    prerequisites: str
    target_public: str
    assessment_method: str
    cap_per_company_per_session: int | None
    cap_per_company_per_year: int | None
    cancellation_days: int
    requires_approval: bool
    funding_basis: str | None
    funding_flow: str | None = None
    dedit_rate_pct: int | None = None


def campaign_years(today: date | None = None) -> list[int]:
    """Campaign years an action may belong to: last year to two years ahead."""
    year = (today or paris_today()).year
    return list(range(year - 1, year + 3))


def _clean(opco: Opco, data: ActionInput, action: CollectiveAction | None, today: date) -> _CleanAction:
    """Validate every field, collecting all the errors so the form shows them at once."""
    errors: dict[str, str] = {}
    for name in ("title", "reference", "theme_code", "modality", *LONG_TEXTS):
        value = getattr(data, name)
        if not isinstance(value, str | None):
            raise TypeError(f"{name} must be text")
        if has_control(value):
            errors[name] = "Ce champ contient des caractères non autorisés."
        elif name in LONG_TEXTS and value and len(value) > MAX_LONG_TEXT:
            errors[name] = "Ce texte ne peut pas dépasser 10 000 caractères."

    def check(field_name: str, fn):
        try:
            return fn()
        except DomainError as error:
            errors.setdefault(error.field or field_name, error.message)
            return None

    title = " ".join((data.title or "").split())
    if "title" in errors:
        pass
    elif not title:
        errors["title"] = "Indiquez l'intitulé de l'action."
    elif len(title) > 200:
        errors["title"] = "L'intitulé ne peut pas dépasser 200 caractères."

    reference = " ".join((data.reference or "").split())
    if action is not None and action.status != ActionStatus.DRAFT and reference != action.reference:
        errors["reference"] = "La référence d'une action publiée ou archivée ne peut plus être modifiée."
    elif not reference:
        errors["reference"] = "Indiquez la référence de l'action (par exemple AC-2026-012)."
    elif len(reference) > 40:
        errors["reference"] = "La référence ne peut pas dépasser 40 caractères."
    elif "reference" not in errors:
        query = select(CollectiveAction.id).where(
            CollectiveAction.opco_id == opco.id, func.lower(CollectiveAction.reference) == reference.lower()
        )
        if action is not None:
            query = query.where(CollectiveAction.id != action.id)
        if db.session.scalar(query) is not None:
            errors["reference"] = (
                f"La référence « {reference} » est déjà utilisée par une autre action de votre catalogue."
            )

    theme_code = data.theme_code or ""
    # A value that cannot be a code (control characters, too long) is not even looked up.
    if "theme_code" in errors or not 0 < len(theme_code) <= 10 or db.session.get(Theme, theme_code) is None:
        errors["theme_code"] = "Choisissez un thème dans la liste."
    if data.modality not in Modality.LABELS:
        errors["modality"] = "Choisissez une modalité : présentiel, distanciel ou mixte."

    duration = None
    try:
        raw_duration = data.duration_hours
        if isinstance(raw_duration, str):
            raw_duration = re.sub(r"\s*(h|heures?)\s*$", "", raw_duration.strip().lower())
        duration = _decimal_fr(raw_duration)
    except InvalidOperation:
        errors["duration_hours"] = "La durée doit être un nombre d'heures, par exemple 14 ou 10,5."
    else:
        if duration is None:
            errors["duration_hours"] = "Indiquez la durée en heures."
        elif duration <= 0:
            errors["duration_hours"] = "La durée doit être supérieure à 0 heure."
        elif duration > MAX_DURATION_HOURS:
            errors["duration_hours"] = "La durée ne peut pas dépasser 2 000 heures."
        elif duration != duration.quantize(Decimal("0.01")):
            errors["duration_hours"] = (
                "La durée s'indique au centième d'heure près au plus (par exemple 10,5)."
            )
    if duration is not None and "duration_hours" not in errors:
        duration = duration.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    years = campaign_years(today)
    year_text = str(data.campaign_year or "").strip()
    year = int(year_text) if year_text.isascii() and year_text.isdigit() and len(year_text) <= 4 else None
    # An existing action keeps its own year even once it has left the window.
    if year not in years and not (action is not None and year == action.campaign_year):
        errors["campaign_year"] = f"L'année de campagne doit être comprise entre {years[0]} et {years[-1]}."

    price_cents = check("price", lambda: parse_euros(data.price, "price", "Le prix par stagiaire"))

    region_codes = sorted(set(c for c in data.region_codes or [] if c))
    if data.is_national:
        region_codes = []
    elif not region_codes:
        errors["region_codes"] = "Cochez au moins une région, ou indiquez que l'action est nationale."
    elif any(len(c) > 10 or has_control(c) for c in region_codes):
        errors["region_codes"] = "Une des régions cochées n'existe pas."
    else:
        known = set(db.session.scalars(select(Region.code).where(Region.code.in_(region_codes))))
        if known != set(region_codes):
            errors["region_codes"] = "Une des régions cochées n'existe pas."

    covered = opco.idcc_codes
    idcc_codes = sorted(set(c for c in data.idcc_codes or [] if c))
    outside = [c for c in idcc_codes if c not in covered]
    if outside:
        errors["idcc_codes"] = (
            "Ces branches ne sont pas couvertes par votre OPCO : "
            + ", ".join(f"IDCC {c}" for c in outside)
            + "."
        )
    elif not idcc_codes:
        idcc_codes = list(covered)

    shares: dict[str, int] = {}
    raw_shares = data.funding_shares or {}
    for code, label, _low, _high in SIZE_BANDS:
        raw = raw_shares.get(code)
        message = f"{label} : la part prise en charge doit être un nombre entier de 0 à 100 (ou vide si non éligible)."
        text = raw.replace("%", "") if isinstance(raw, str) else raw
        value = check(
            share_field(code), lambda t=text, m=message, c=code: _optional_int(t, share_field(c), m, 0, 100)
        )
        if value is not None:
            shares[code] = value
    unknown_bands = set(raw_shares) - {code for code, *_ in SIZE_BANDS}
    if unknown_bands:
        raise ValueError(f"Unknown size bands {unknown_bands}")

    cap_session = check(
        "cap_per_company_per_session",
        lambda: _optional_int(
            data.cap_per_company_per_session,
            "cap_per_company_per_session",
            "Le plafond par entreprise et par session doit être un nombre entier de 1 à 999 (ou vide).",
            1,
            999,
        ),
    )
    cap_year = check(
        "cap_per_company_per_year",
        lambda: _optional_int(
            data.cap_per_company_per_year,
            "cap_per_company_per_year",
            "Le plafond par entreprise et par an doit être un nombre entier de 1 à 9 999 (ou vide).",
            1,
            9999,
        ),
    )
    if cap_session is not None and cap_year is not None and cap_year < cap_session:
        errors.setdefault(
            "cap_per_company_per_year",
            "Le plafond annuel par entreprise ne peut pas être inférieur au plafond par session.",
        )
    cancellation_days = check(
        "cancellation_days",
        lambda: _optional_int(
            data.cancellation_days,
            "cancellation_days",
            f"Le délai d'annulation doit être un nombre entier de jours ouvrés, de 0 à {MAX_CANCELLATION_DAYS}.",
            0,
            MAX_CANCELLATION_DAYS,
        ),
    )
    if cancellation_days is None:
        cancellation_days = 10
    funding_basis = (data.funding_basis or "").strip().lower() or None
    if funding_basis not in (None, "ht", "ttc"):
        errors.setdefault(
            "funding_basis",
            "Choisissez la base de la prise en charge : prix HT, prix TTC ou la règle de l'OPCO.",
        )

    funding_flow = (data.funding_flow or "").strip() or None
    if funding_flow not in (None, "subrogation", "direct_purchase"):
        errors.setdefault(
            "funding_flow",
            "Choisissez le mode de paiement : subrogation, achat direct ou la règle de l'OPCO.",
        )
    dedit_rate_pct = check(
        "dedit_rate_pct",
        lambda: _optional_int(
            data.dedit_rate_pct,
            "dedit_rate_pct",
            "L'indemnité de dédit est un pourcentage entier du prix HT, de 0 à 100.",
            0,
            100,
        ),
    )

    # Lowering the ceiling below a price already negotiated would make that referencing invalid.
    if action is not None and price_cents is not None:
        above = [r for r in _live_referencings(action) if r.price_cents > price_cents]
        if above:
            worst = max(above, key=lambda r: r.price_cents)
            errors.setdefault(
                "price",
                f"Le prix plafond ne peut pas être inférieur au prix négocié avec {worst.provider.name} "
                f"({_money(worst.price_cents)}) : modifiez d'abord ce référencement.",
            )

    for name in LONG_TEXTS:
        if len((getattr(data, name) or "").strip()) > LONG_TEXT:
            errors[name] = too_long(LONG_TEXT)

    if errors:
        raise InvalidAction(errors)
    return _CleanAction(
        title=title,
        reference=reference,
        theme_code=data.theme_code,
        modality=data.modality,
        duration_hours=duration,
        campaign_year=year,
        price_cents=price_cents,
        is_national=bool(data.is_national),
        region_codes=region_codes,
        idcc_codes=idcc_codes,
        shares=shares,
        objectives=(data.objectives or "").strip(),
        programme=(data.programme or "").strip(),
        prerequisites=(data.prerequisites or "").strip(),
        target_public=(data.target_public or "").strip(),
        assessment_method=(data.assessment_method or "").strip(),
        cap_per_company_per_session=cap_session,
        cap_per_company_per_year=cap_year,
        cancellation_days=cancellation_days,
        requires_approval=bool(data.requires_approval),
        funding_basis=funding_basis,
        funding_flow=funding_flow,
        dedit_rate_pct=dedit_rate_pct or None,
    )


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


def _apply(action: CollectiveAction, clean: _CleanAction) -> None:
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
    clean = _clean(opco, data, None, today or paris_today())
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
    clean = _clean(opco, data, action, today or paris_today())
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


# --- Referencings -----------------------------------------------------------------------------------


def _live_referencings(action: CollectiveAction) -> list[Referencing]:
    if action.id is None:
        return []
    return list(
        db.session.scalars(
            select(Referencing).where(
                Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
            )
        )
    )


def qualiopi_problem(provider: TrainingProvider, today: date) -> str | None:
    """Why this organisation cannot be referenced today because of its Qualiopi certificate, or None."""
    if "actions_formation" not in provider.qualiopi_category_list:
        return (
            f"{provider.name} n'est pas certifié Qualiopi pour la catégorie « Actions de formation » : "
            "il ne peut pas être référencé."
        )
    if not qualiopi_is_valid(provider.qualiopi_expires_on, today, provider.qualiopi_category_list):
        return (
            f"Le certificat Qualiopi {of_name(provider.name)} a expiré le {provider.qualiopi_expires_on:%d/%m/%Y} : "
            "un organisme sans certificat Qualiopi valide (« Actions de formation ») ne peut pas être référencé."
        )
    return None


def _check_referencing_terms(
    action: CollectiveAction,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    today: date,
) -> None:
    if valid_from is None:
        raise DomainError("Indiquez la date de début du référencement.", field="valid_from")
    if valid_until is None:
        raise DomainError("Indiquez la date de fin du référencement.", field="valid_until")
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not REFERENCING_DATE_MIN <= value <= REFERENCING_DATE_MAX:
            raise DomainError(
                f"Indiquez une date comprise entre {REFERENCING_DATE_MIN.year} et {REFERENCING_DATE_MAX.year}.",
                field=name,
            )
    if valid_until < valid_from:
        raise DomainError(
            "La date de fin doit être postérieure ou égale à la date de début.", field="valid_until"
        )
    if valid_until < today:
        raise DomainError("La date de fin du référencement est déjà passée.", field="valid_until")
    if price_cents is None or price_cents <= 0:
        raise DomainError("Indiquez le prix négocié par stagiaire.", field="price")
    if price_cents > action.price_cents:
        raise DomainError(
            f"Le prix négocié ({_money(price_cents)}) dépasse le prix plafond de l'action "
            f"({_money(action.price_cents)}).",
            field="price",
        )


def reference_provider(
    action: CollectiveAction,
    provider: TrainingProvider,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> Referencing:
    """Reference a training organisation on an action for a period at a negotiated price (≤ the ceiling).

    The organisation needs a valid Qualiopi certificate for « actions de formation »; an archived action takes
    no new referencing; an organisation already referenced (active or suspended) is refused; one whose
    referencing was withdrawn is referenced again on the same row (new period and price).
    """
    today = today or paris_today()
    if provider is None or db.session.get(TrainingProvider, provider.id) is None:
        raise DomainError(
            "Choisissez un organisme de formation inscrit sur la plateforme.", field="provider_id"
        )
    if action.status == ActionStatus.ARCHIVED:
        raise DomainError("Cette action est archivée : elle ne peut plus recevoir de référencement.")
    problem = qualiopi_problem(provider, today)
    if problem:
        raise DomainError(problem, field="provider_id")
    _check_referencing_terms(action, valid_from, valid_until, price_cents, today)
    existing = db.session.scalar(
        select(Referencing).where(Referencing.action_id == action.id, Referencing.provider_id == provider.id)
    )
    terms = {
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "price_cents": price_cents,
    }
    if existing is not None:
        if existing.status != ReferencingStatus.WITHDRAWN:
            raise DomainError(f"{provider.name} est déjà référencé sur cette action.", field="provider_id")
        existing.valid_from, existing.valid_until, existing.price_cents = valid_from, valid_until, price_cents
        existing.status_reason = None
        REFERENCING_MACHINE.apply(existing, "renew", actor, organisation_id=action.opco_id, data=terms)
        return existing
    referencing = Referencing(
        opco_id=action.opco_id,
        action_id=action.id,
        provider_id=provider.id,
        valid_from=valid_from,
        valid_until=valid_until,
        price_cents=price_cents,
        status=ReferencingStatus.ACTIVE,
    )
    db.session.add(referencing)
    db.session.flush()
    audit.record(
        "catalogue.provider_referenced",
        organisation_id=action.opco_id,
        actor=actor,
        obj=referencing,
        data={"action": action.reference, "provider": provider.name, **terms},
    )
    return referencing


def reference_chosen_provider(
    action: CollectiveAction,
    provider_id: int | None,
    valid_from: date | None,
    valid_until: date | None,
    price: str | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> Referencing:
    """The referencing form: the organisation must be one the form offers for this action (on the platform,
    not already referenced); the price is read as typed (« 1 200,50 »)."""
    provider = None
    if provider_id is not None:
        taken = select(Referencing.provider_id).where(
            Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
        )
        provider = db.session.scalar(
            select(TrainingProvider).where(
                TrainingProvider.id == provider_id, TrainingProvider.id.not_in(taken)
            )
        )
    if provider is None:
        raise DomainError("Choisissez un organisme de formation dans la liste.", field="provider_id")
    price_cents = parse_euros(price, "price", "Le prix négocié")
    return reference_provider(action, provider, valid_from, valid_until, price_cents, actor, today=today)


def change_referencing_terms(
    referencing: Referencing,
    valid_from: date | None,
    valid_until: date | None,
    price: str | None,
    actor: User | None,
    *,
    today: date | None = None,
    pricing: tuple[str | None, str | None, str | None, str | None] | None = None,
) -> None:
    """The referencing edit form: new period and price as typed (« 950 »), and how the organisation invoices
    the OPCO (``pricing``: mode, hourly rate, group price, threshold as typed; None leaves it unchanged)."""
    price_cents = parse_euros(price, "price", "Le prix négocié")
    from marketplace.services import referencing_pricing

    terms = referencing_pricing.terms(*pricing) if pricing is not None else None
    update_referencing(referencing, valid_from, valid_until, price_cents, actor, today=today)
    if terms is not None:
        before = {name: getattr(referencing, name) for name in terms}
        if before != terms:
            for name, value in terms.items():
                setattr(referencing, name, value)
            audit.record(
                "catalogue.referencing_updated",
                organisation_id=referencing.opco_id,
                actor=actor,
                obj=referencing,
                data={"before": before, "after": terms},
            )


def update_referencing(
    referencing: Referencing,
    valid_from: date | None,
    valid_until: date | None,
    price_cents: int | None,
    actor: User | None,
    *,
    today: date | None = None,
) -> None:
    """Change the period or the negotiated price of a referencing (not a withdrawn one); audited."""
    if referencing.status == ReferencingStatus.WITHDRAWN:
        raise DomainError(
            "Ce référencement a été retiré : référencez à nouveau l'organisme pour le modifier."
        )
    action = db.session.get(CollectiveAction, referencing.action_id)
    _check_referencing_terms(action, valid_from, valid_until, price_cents, today or paris_today())
    before = {
        "valid_from": referencing.valid_from.isoformat(),
        "valid_until": referencing.valid_until.isoformat(),
        "price_cents": referencing.price_cents,
    }
    referencing.valid_from, referencing.valid_until, referencing.price_cents = (
        valid_from,
        valid_until,
        price_cents,
    )
    after = {
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "price_cents": price_cents,
    }
    if after != before:
        audit.record(
            "catalogue.referencing_updated",
            organisation_id=referencing.opco_id,
            actor=actor,
            obj=referencing,
            data={"before": before, "after": after},
        )


def transition_referencing(
    referencing: Referencing,
    event: str,
    actor: User | None,
    reason: str | None = None,
    *,
    for_qualiopi: bool = False,
) -> str:
    """Suspend, reactivate or withdraw a referencing; suspending and withdrawing need a reason (kept on the row).

    ``for_qualiopi``: the suspension is the automatic one of a lapsed Qualiopi certificate (a renewal lifts it).
    Suspending or withdrawing tells the OPCO's catalogue managers and the companies with people enrolled on
    the organisation's coming sessions of the action: no enrolment or confirmation is possible there any more
    (services.eligibility.funding_blocker).
    """
    if event not in REFERENCING_EVENTS:
        raise DomainError("Cette action n'est pas possible sur un référencement.")
    reason = " ".join((reason or "").split()) or None
    if event in REASON_REQUIRED and not reason:
        label = REFERENCING_MACHINE.transitions[event].label.lower()
        raise DomainError(f"Indiquez le motif pour {label} ce référencement.", field="reason")
    if reason and len(reason) > 300:
        raise DomainError("Le motif ne peut pas dépasser 300 caractères.", field="reason")
    if reason and not reason.isprintable():
        raise DomainError("Le motif contient des caractères non autorisés.", field="reason")
    previous = REFERENCING_MACHINE.apply(
        referencing, event, actor, organisation_id=referencing.opco_id, reason=reason
    )
    referencing.status_reason = reason if event in REASON_REQUIRED else None
    referencing.suspended_for_qualiopi = for_qualiopi and event == "suspend"
    if event in REASON_REQUIRED:
        _notify_referencing_stopped(referencing, event, actor)
    return previous


def _notify_referencing_stopped(referencing: Referencing, event: str, actor: User | None) -> None:
    """Email the OPCO (catalogue managers, but not whoever made the change) and, once per company, whoever
    enrolled people on the organisation's sessions of the action that have not started yet."""
    from marketplace.formatting import paris_today
    from marketplace.models import Enrolment, EnrolmentStatus
    from marketplace.services import accounts, enrolments, outbox
    from marketplace.services.roles import Perm

    today = paris_today()
    concerned = db.session.scalars(
        select(Enrolment)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(
            TrainingSession.referencing_id == referencing.id,
            TrainingSession.start_date >= today,
            TrainingSession.status.not_in((SessionStatus.CANCELLED, SessionStatus.COMPLETED)),
            Enrolment.status.in_(EnrolmentStatus.ACTIVE),
        )
        .order_by(TrainingSession.start_date, Enrolment.company_id, Enrolment.id)
    ).all()
    opco = db.session.get(Opco, referencing.opco_id)
    context = dict(
        referencing=referencing,
        action=referencing.action,
        provider=referencing.provider,
        opco=opco,
        event=event,
        reason=referencing.status_reason,
    )
    by_company: dict[int, list] = {}
    for enrolment in concerned:
        by_company.setdefault(enrolment.company_id, []).append(enrolment)
    skip = actor.email if actor is not None else None
    for email in accounts.member_emails([opco.id], "opco", Perm.MANAGE_CATALOGUE).get(opco.id, []):
        if email != skip:
            outbox.queue_email(
                email,
                "referencing_stopped_opco",
                organisation_id=opco.id,
                enrolments=concerned,
                companies=len(by_company),
                **context,
            )
    for company_id, rows in by_company.items():
        for email in sorted({e for enrolment in rows for e in enrolments.company_contacts(enrolment)}):
            outbox.queue_email(
                email, "referencing_stopped_company", organisation_id=company_id, enrolments=rows, **context
            )


def referenceable_providers(action: CollectiveAction) -> list[TrainingProvider]:
    """Every training organisation on the platform not already referenced (active or suspended) on the action."""
    taken = select(Referencing.provider_id).where(
        Referencing.action_id == action.id, Referencing.status != ReferencingStatus.WITHDRAWN
    )
    return list(
        db.session.scalars(
            select(TrainingProvider).where(TrainingProvider.id.not_in(taken)).order_by(TrainingProvider.name)
        )
    )


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


# --- Reading the catalogue (constant number of queries) ----------------------------------------------


def session_counts(action_ids: list[int]) -> dict[int, int]:
    """Number of sessions (any status) per action, in one query."""
    if not action_ids:
        return {}
    rows = db.session.execute(
        select(TrainingSession.action_id, func.count(TrainingSession.id))
        .where(TrainingSession.action_id.in_(action_ids))
        .group_by(TrainingSession.action_id)
    ).all()
    return {action_id: count for action_id, count in rows}


def upcoming_open_session_counts(action_ids: list[int], today: date | None = None) -> dict[int, int]:
    """Number of sessions open for registration and not started yet, per action, in one query."""
    if not action_ids:
        return {}
    rows = db.session.execute(
        select(TrainingSession.action_id, func.count(TrainingSession.id))
        .where(
            TrainingSession.action_id.in_(action_ids),
            TrainingSession.status == SessionStatus.OPEN,
            TrainingSession.start_date >= (today or paris_today()),
        )
        .group_by(TrainingSession.action_id)
    ).all()
    return {action_id: count for action_id, count in rows}


def upcoming_open_sessions(action: CollectiveAction, today: date | None = None) -> list[TrainingSession]:
    """Sessions of the action open for registration and not started yet, soonest first."""
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(
                TrainingSession.action_id == action.id,
                TrainingSession.status == SessionStatus.OPEN,
                TrainingSession.start_date >= (today or paris_today()),
            )
            .order_by(TrainingSession.start_date, TrainingSession.id)
        )
    )


def status_counts(opco_id: int) -> dict[str, int]:
    """Number of actions per status in an OPCO's catalogue."""
    rows = db.session.execute(
        select(CollectiveAction.status, func.count(CollectiveAction.id))
        .where(CollectiveAction.opco_id == opco_id)
        .group_by(CollectiveAction.status)
    ).all()
    return {status: count for status, count in rows}


def active_referencings(action_ids: list[int], today: date | None = None) -> dict[int, list[Referencing]]:
    """Referencings active and valid today per action (providers loaded with them), in one query."""
    if not action_ids:
        return {}
    today = today or paris_today()
    rows = db.session.scalars(
        select(Referencing)
        .where(
            Referencing.action_id.in_(action_ids),
            Referencing.status == ReferencingStatus.ACTIVE,
            Referencing.valid_from <= today,
            Referencing.valid_until >= today,
        )
        .order_by(Referencing.action_id, Referencing.id)
    ).all()
    result: dict[int, list[Referencing]] = {}
    for row in rows:
        result.setdefault(row.action_id, []).append(row)
    return result


def public_opcos() -> list[tuple[Opco, int]]:
    """OPCOs on the platform with their number of published actions, by name (one query)."""
    published = (
        select(CollectiveAction.opco_id, func.count(CollectiveAction.id).label("n"))
        .where(CollectiveAction.status == ActionStatus.PUBLISHED)
        .group_by(CollectiveAction.opco_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Opco, func.coalesce(published.c.n, 0))
        .outerjoin(published, published.c.opco_id == Opco.id)
        .order_by(Opco.name)
    ).all()
    return [(opco, int(n)) for opco, n in rows]


def published_actions_query(opco: Opco, q: str = ""):
    """The OPCO's published actions matching every word of ``q`` (title, reference, objectives, theme), by
    title: a query for ``pagination.paginate``. Words are looked up in the text-search index."""
    query = select(CollectiveAction).where(
        CollectiveAction.opco_id == opco.id, CollectiveAction.status == ActionStatus.PUBLISHED
    )
    # A word matches as typed (lower-cased) or without accents: the stored text holds both forms.
    for word in (q or "").lower().split()[:8]:
        query = query.where(search_index.action_condition(word))
    return query.order_by(CollectiveAction.title, CollectiveAction.id)


def published_action(opco: Opco, action_id: int) -> CollectiveAction | None:
    """The OPCO's action if it is published (None otherwise: drafts, archives and other OPCOs' actions stay hidden)."""
    return db.session.scalar(
        select(CollectiveAction).where(
            CollectiveAction.id == action_id,
            CollectiveAction.opco_id == opco.id,
            CollectiveAction.status == ActionStatus.PUBLISHED,
        )
    )
