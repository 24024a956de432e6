"""What OPCO staff type for a call for tenders, and its validation (kept apart from ``tenders``, which writes
the draft and changes its status, so that the builder's many field rules read on their own).

Rules held here:

- Every field is checked before anything is written, and every error is reported at once
  (:class:`InvalidTender`: one French message per field, or per cell of the lots and criteria tables).
- Deadlines are typed in Paris time (years 2000 to 2100) and stored in UTC; the questions deadline precedes
  the submission deadline, and the expected award date comes after the submission deadline's day.
- The reference is unique in the OPCO. A lot names a theme, a region or « National », whole volumes, a maximum
  price per trainee and possibly a non-archived collective action of the OPCO; criteria have distinct labels
  and whole weights that total exactly 100 (:func:`weights_problem`, also checked before publication).
- A free text carrying control characters is refused (:func:`refuse_control`, also used by the responses,
  the questions and the evaluation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_to_utc, to_paris
from marketplace.models import ActionStatus, CollectiveAction, Opco, Region, Tender, TenderDocumentKind, Theme
from marketplace.models.limits import LONG_TEXT, too_long
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.french_numbers import parse_euros
from marketplace.services.text import has_control

MAX_LOTS = 30
MAX_CRITERIA = 12
MAX_LONG_TEXT = LONG_TEXT  # context, specification: the columns' bound (models/limits.py)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
CONTROL_MESSAGE = "Ce texte contient des caractères invisibles non autorisés : retirez-les puis réessayez."
# Deadlines typed beyond these years are mistakes (and would overflow when converted to UTC).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def refuse_control(text, field: str | None = None) -> None:
    """Refuse a free text carrying control characters (the database would refuse a NUL)."""
    if has_control(text):
        raise DomainError(CONTROL_MESSAGE, field=field)


def euros(value, field_name: str, label: str) -> int:
    """``french_numbers.parse_euros`` on a typed amount of a reasonable length (a huge number is refused)."""
    if isinstance(value, str) and len(value) > 20:
        raise DomainError(f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name)
    return parse_euros(value, field_name, label)


class InvalidTender(InvalidForm):
    """Several fields of the tender form are wrong; ``errors`` maps field name → French message.

    Field names: ``title``, ``reference``…, ``lots`` / ``criteria`` for the whole table, and
    ``lots-<i>-<name>`` / ``criteria-<i>-<name>`` for a cell, ``i`` being the index in the list given.
    """


# --- Input ------------------------------------------------------------------------------------------


@dataclass
class LotInput:
    """A lot as typed; numbers may be French text. ``region_code`` None or empty: national."""

    title: str
    theme_code: str
    region_code: str | None = None
    expected_sessions: str | int | None = 1
    expected_trainees: str | int | None = 10
    max_price: str | int | Decimal | None = None  # euros HT per trainee, « 1 200,50 »
    duration_hours: str | int | None = None
    action_id: str | int | None = None  # an action of this OPCO the winners will be referenced on


@dataclass
class CriterionInput:
    label: str
    weight: str | int | None


@dataclass
class TenderInput:
    """What OPCO staff type for a tender; deadlines are naive Europe/Paris datetimes."""

    title: str
    reference: str
    context: str = ""
    specification: str = ""
    questions_deadline: datetime | None = None
    submission_deadline: datetime | None = None
    expected_award_date: date | None = None
    multi_award: bool = False
    required_documents: list[str] = field(default_factory=list)
    lots: list[LotInput] = field(default_factory=list)
    criteria: list[CriterionInput] = field(default_factory=list)


@dataclass(frozen=True)
class _CleanLot:
    title: str
    theme_code: str
    region_code: str | None
    expected_sessions: int
    expected_trainees: int
    max_price_cents: int
    duration_hours: int | None
    action_id: int | None


@dataclass(frozen=True)
class CleanTender:
    title: str
    reference: str
    context: str
    specification: str
    questions_deadline: datetime | None  # UTC
    submission_deadline: datetime | None  # UTC
    expected_award_date: date | None
    multi_award: bool
    required_documents: list[str]
    lots: list[_CleanLot]
    criteria: list[tuple[str, int]]


def _int_or_none(value) -> int | None | str:
    """Whole number from text (« 1 200 »); None when empty; the string "invalid" when not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, int):
        return value
    text = _SPACES.sub("", str(value))
    if not text:
        return None
    return int(text) if text.isdigit() and text.isascii() and len(text) <= 9 else "invalid"


def weights_problem(weights: list[int]) -> str | None:
    """The French refusal when the weights do not total exactly 100, else None."""
    total = sum(weights)
    if total != 100:
        return f"Les pondérations des critères totalisent {total} : elles doivent totaliser 100."
    return None


def clean(opco: Opco, data: TenderInput, tender: Tender | None) -> CleanTender:
    """Validate every field, collecting all the errors so the form shows them at once."""
    errors: dict[str, str] = {}
    texts = {
        "title": data.title,
        "reference": data.reference,
        "context": data.context,
        "specification": data.specification,
    }
    texts.update({f"lots-{i}-title": lot.title for i, lot in enumerate(data.lots or [])})
    texts.update({f"criteria-{i}-label": c.label for i, c in enumerate(data.criteria or [])})
    for name, value in texts.items():
        if has_control(value):
            errors[name] = CONTROL_MESSAGE
    if errors:
        raise InvalidTender(errors)
    for name, label in (("context", "Le contexte"), ("specification", "Le cahier des charges")):
        if len(texts[name] or "") > MAX_LONG_TEXT:
            errors[name] = f"{label} ne peut pas dépasser {MAX_LONG_TEXT:,} caractères.".replace(
                ",", "\u202f"
            )

    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = "Indiquez l'intitulé de l'appel d'offres."
    elif len(title) > 200:
        errors["title"] = "L'intitulé ne peut pas dépasser 200 caractères."

    reference = " ".join((data.reference or "").split())
    if not reference:
        errors["reference"] = "Indiquez la référence de l'appel d'offres (par exemple AO-2026-03)."
    elif len(reference) > 40:
        errors["reference"] = "La référence ne peut pas dépasser 40 caractères."
    else:
        query = select(Tender.id).where(
            Tender.opco_id == opco.id, func.lower(Tender.reference) == reference.lower()
        )
        if tender is not None:
            query = query.where(Tender.id != tender.id)
        if db.session.scalar(query) is not None:
            errors["reference"] = (
                f"La référence « {reference} » est déjà utilisée par un autre de vos appels d'offres."
            )

    for name in ("questions_deadline", "submission_deadline", "expected_award_date"):
        value = getattr(data, name)
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            errors[name] = f"Indiquez une date entre {FIRST_YEAR} et {LAST_YEAR}."
    if any(name in errors for name in ("questions_deadline", "submission_deadline", "expected_award_date")):
        raise InvalidTender(errors)
    questions = paris_to_utc(data.questions_deadline) if data.questions_deadline else None
    submission = paris_to_utc(data.submission_deadline) if data.submission_deadline else None
    if questions and submission and questions > submission:
        errors["questions_deadline"] = (
            "La date limite des questions doit précéder la date limite de dépôt des réponses."
        )
    if data.expected_award_date and submission and data.expected_award_date <= to_paris(submission).date():
        errors["expected_award_date"] = (
            f"La date d'attribution prévue doit être postérieure à la date limite de dépôt ({date_fr(submission)})."
        )

    documents = [code for code in dict.fromkeys(data.required_documents or []) if code]
    unknown = [code for code in documents if code not in TenderDocumentKind.LABELS]
    if unknown:
        errors["required_documents"] = "Un des documents cochés n'existe pas."

    # Lots.
    lots: list[_CleanLot] = []
    if not data.lots:
        errors["lots"] = "Décrivez au moins un lot (intitulé, thème, prix maximum)."
    elif len(data.lots) > MAX_LOTS:
        errors["lots"] = f"Un appel d'offres compte au plus {MAX_LOTS} lots."
    themes = set(db.session.scalars(select(Theme.code)))
    regions = set(db.session.scalars(select(Region.code)))
    action_ids = {
        a_id: status
        for a_id, status in db.session.execute(
            select(CollectiveAction.id, CollectiveAction.status).where(CollectiveAction.opco_id == opco.id)
        )
    }
    for i, lot in enumerate(data.lots or []):
        prefix = f"lots-{i}-"
        n = i + 1
        lot_title = " ".join((lot.title or "").split())
        if not lot_title:
            errors[prefix + "title"] = f"Lot {n} : indiquez l'intitulé du lot."
        elif len(lot_title) > 200:
            errors[prefix + "title"] = f"Lot {n} : l'intitulé ne peut pas dépasser 200 caractères."
        if lot.theme_code not in themes:
            errors[prefix + "theme_code"] = f"Lot {n} : choisissez un thème dans la liste."
        region_code = lot.region_code or None
        if region_code is not None and region_code not in regions:
            errors[prefix + "region_code"] = (
                f"Lot {n} : choisissez une région dans la liste, ou « National »."
            )
        sessions_count = _int_or_none(lot.expected_sessions)
        if sessions_count in (None, "invalid") or not 1 <= sessions_count <= 9999:
            errors[prefix + "expected_sessions"] = (
                f"Lot {n} : le nombre de sessions prévues doit être un nombre entier de 1 à 9 999."
            )
        trainees = _int_or_none(lot.expected_trainees)
        if trainees in (None, "invalid") or not 1 <= trainees <= 99_999:
            errors[prefix + "expected_trainees"] = (
                f"Lot {n} : le nombre de stagiaires prévus doit être un nombre entier de 1 à 99 999."
            )
        price = None
        try:
            price = euros(lot.max_price, prefix + "max_price", f"Lot {n} : le prix maximum par stagiaire")
        except DomainError as error:
            errors[prefix + "max_price"] = error.message
        duration = _int_or_none(lot.duration_hours)
        if duration == "invalid" or (duration is not None and not 1 <= duration <= 2000):
            errors[prefix + "duration_hours"] = (
                f"Lot {n} : la durée doit être un nombre entier d'heures, de 1 à 2 000."
            )
        action_id = _int_or_none(lot.action_id)
        if action_id == "invalid" or (action_id is not None and action_id not in action_ids):
            errors[prefix + "action_id"] = f"Lot {n} : choisissez une action collective de votre catalogue."
        elif action_id is not None and action_ids[action_id] == ActionStatus.ARCHIVED:
            errors[prefix + "action_id"] = (
                f"Lot {n} : cette action collective est archivée ; choisissez-en une autre."
            )
        if not any(k.startswith(prefix) for k in errors):
            lots.append(
                _CleanLot(
                    lot_title,
                    lot.theme_code,
                    region_code,
                    sessions_count,
                    trainees,
                    price,
                    duration,
                    action_id,
                )
            )

    # Criteria.
    criteria: list[tuple[str, int]] = []
    if not data.criteria:
        errors["criteria"] = "Indiquez au moins un critère d'évaluation, avec sa pondération."
    elif len(data.criteria) > MAX_CRITERIA:
        errors["criteria"] = f"Un appel d'offres compte au plus {MAX_CRITERIA} critères."
    seen: set[str] = set()
    weights_ok = True
    for i, criterion in enumerate(data.criteria or []):
        prefix = f"criteria-{i}-"
        n = i + 1
        label = " ".join((criterion.label or "").split())
        if not label:
            errors[prefix + "label"] = f"Critère {n} : indiquez son libellé."
        elif len(label) > 200:
            errors[prefix + "label"] = f"Critère {n} : le libellé ne peut pas dépasser 200 caractères."
        elif label.lower() in seen:
            errors[prefix + "label"] = f"Critère {n} : « {label} » figure déjà dans la liste."
        seen.add(label.lower())
        weight = _int_or_none(criterion.weight)
        if weight in (None, "invalid") or not 1 <= weight <= 100:
            errors[prefix + "weight"] = f"Critère {n} : la pondération doit être un nombre entier de 1 à 100."
            weights_ok = False
        else:
            criteria.append((label, weight))
    if data.criteria and weights_ok and "criteria" not in errors:
        problem = weights_problem([w for _, w in criteria])
        if problem:
            errors["criteria"] = problem

    for name in ("context", "specification"):
        if len((getattr(data, name) or "").strip()) > LONG_TEXT:
            errors[name] = too_long(LONG_TEXT)

    if errors:
        raise InvalidTender(errors)
    return CleanTender(
        title=title,
        reference=reference,
        context=(data.context or "").strip(),
        specification=(data.specification or "").strip(),
        questions_deadline=questions,
        submission_deadline=submission,
        expected_award_date=data.expected_award_date,
        multi_award=bool(data.multi_award),
        required_documents=documents,
        lots=lots,
        criteria=criteria,
    )
