"""The action form of an OPCO's catalogue: what staff type (:class:`ActionInput`) and its validation.

Every field is checked and all the errors are returned at once (:class:`InvalidAction`), in French, on the
field they concern. Eligibility is stored explicitly: an empty branch list means "every branch the OPCO
covers"; a size band without a funding share is not eligible. The ceiling may not go below a price already
negotiated with a referenced organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import ActionStatus, CollectiveAction, Modality, Opco, Region, Theme
from marketplace.models.limits import LONG_TEXT, too_long
from marketplace.services import referencings
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.french_numbers import decimal_fr, money_ht, optional_int, parse_euros
from marketplace.services.identifiers import SIZE_BANDS
from marketplace.services.text import has_control

MAX_DURATION_HOURS = Decimal("2000")
MAX_CANCELLATION_DAYS = 60
MAX_LONG_TEXT = 10_000  # objectives, programme, prerequisites, target public
LONG_TEXTS = ("objectives", "programme", "prerequisites", "target_public", "assessment_method")


class InvalidAction(InvalidForm):
    """Several fields of an action form are wrong; ``errors`` maps field name → French message."""


def band_key(code: str) -> str:
    """A form-safe key for a size band code (« <11 » → « lt11 », « 11-49 » → « 11_49 », « 300+ » → « 300plus »)."""
    return code.replace("<", "lt").replace("+", "plus").replace("-", "_")


def share_field(code: str) -> str:
    """Name of the field carrying the funding share of a size band (errors are reported on it)."""
    return f"share_{band_key(code)}"


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
class CleanAction:
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


def clean(opco: Opco, data: ActionInput, action: CollectiveAction | None, today: date) -> CleanAction:
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
        duration = decimal_fr(raw_duration)
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
            share_field(code), lambda t=text, m=message, c=code: optional_int(t, share_field(c), m, 0, 100)
        )
        if value is not None:
            shares[code] = value
    unknown_bands = set(raw_shares) - {code for code, *_ in SIZE_BANDS}
    if unknown_bands:
        raise ValueError(f"Unknown size bands {unknown_bands}")

    cap_session = check(
        "cap_per_company_per_session",
        lambda: optional_int(
            data.cap_per_company_per_session,
            "cap_per_company_per_session",
            "Le plafond par entreprise et par session doit être un nombre entier de 1 à 999 (ou vide).",
            1,
            999,
        ),
    )
    cap_year = check(
        "cap_per_company_per_year",
        lambda: optional_int(
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
        lambda: optional_int(
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
        lambda: optional_int(
            data.dedit_rate_pct,
            "dedit_rate_pct",
            "L'indemnité de dédit est un pourcentage entier du prix HT, de 0 à 100.",
            0,
            100,
        ),
    )

    # Lowering the ceiling below a price already negotiated would make that referencing invalid.
    if action is not None and price_cents is not None:
        above = [r for r in referencings.live_referencings(action) if r.price_cents > price_cents]
        if above:
            worst = max(above, key=lambda r: r.price_cents)
            errors.setdefault(
                "price",
                f"Le prix plafond ne peut pas être inférieur au prix négocié avec {worst.provider.name} "
                f"({money_ht(worst.price_cents)}) : modifiez d'abord ce référencement.",
            )

    for name in LONG_TEXTS:
        if len((getattr(data, name) or "").strip()) > LONG_TEXT:
            errors[name] = too_long(LONG_TEXT)

    if errors:
        raise InvalidAction(errors)
    return CleanAction(
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
