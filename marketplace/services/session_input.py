"""A session as the training organisation types it (:class:`SessionInput`, half-days as :class:`SlotInput`)
and the checks shared by creating, editing, postponing and opening it: half-days that add up to the action's
duration (:func:`check_length`), a Qualiopi certificate valid for « actions de formation », a referencing
active over the session's dates, a place in the action's regions, capacities, deadline and contact."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import date_fr
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    HalfDay,
    Modality,
    Referencing,
    ReferencingStatus,
    Region,
    TrainingProvider,
)
from marketplace.services import trainee_information
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import qualiopi_is_valid
from marketplace.services.places import region_for_address

# Half-day bounds. A morning ends by 14:00 and an afternoon starts from 11:00: loose enough for late
# mornings and early afternoons, strict enough to catch a slot filed under the wrong half-day (an
# attendance sheet has one line per half-day).
MORNING_LATEST_END = time(14, 0)
AFTERNOON_EARLIEST_START = time(11, 0)
DEFAULT_TIMES = {HalfDay.MORNING: (time(9, 0), time(12, 30)), HalfDay.AFTERNOON: (time(13, 30), time(17, 0))}

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTAL_CODE_RE = re.compile(r"^[0-9]{5}$")


@dataclass
class SlotInput:
    """One half-day as typed; missing times take the usual ones (9h00–12h30, 13h30–17h00)."""

    day: date | None
    half_day: str = HalfDay.MORNING
    start_time: time | None = None
    end_time: time | None = None


@dataclass
class SessionInput:
    referencing_id: int | None
    slots: list[SlotInput]
    registration_deadline: date | None
    capacity_min: int | None
    capacity_max: int | None
    is_remote: bool = False
    address: str = ""
    postal_code: str = ""
    city: str = ""
    region_code: str | None = None
    trainer_names: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    notes: str = ""
    connection_url: str = ""  # a distance session's virtual classroom (required before its convocations)


def _slot_name(slot: SlotInput) -> str:
    return f"{HalfDay.LABELS.get(slot.half_day, slot.half_day).lower()} du {date_fr(slot.day)}"


def clean_slots(slots: list[SlotInput]) -> list[SlotInput]:
    """Validate half-day slots and return them sorted, with default times filled in.

    Rules: at least one; each has a day and a half-day; no half-day twice; end after start; a morning
    ends by 14:00, an afternoon starts from 11:00; on one day the afternoon starts after the morning ends.
    """
    cleaned: list[SlotInput] = []
    seen: set[tuple[date, str]] = set()
    for slot in slots:
        if slot.day is None:
            raise DomainError("Indiquez le jour de chaque demi-journée.", field="slots")
        if slot.half_day not in HalfDay.LABELS:
            raise DomainError(
                "Choisissez « Matin » ou « Après-midi » pour chaque demi-journée.", field="slots"
            )
        default_start, default_end = DEFAULT_TIMES[slot.half_day]
        current = SlotInput(
            slot.day, slot.half_day, slot.start_time or default_start, slot.end_time or default_end
        )
        name = _slot_name(current)
        key = (current.day, current.half_day)
        if key in seen:
            raise DomainError(f"La demi-journée « {name} » est saisie deux fois.", field="slots")
        seen.add(key)
        if current.end_time <= current.start_time:
            raise DomainError(
                f"Demi-journée « {name} » : l'heure de fin doit être après l'heure de début.", field="slots"
            )
        if current.half_day == HalfDay.MORNING and current.end_time > MORNING_LATEST_END:
            raise DomainError(
                f"Demi-journée « {name} » : un matin se termine au plus tard à 14h00. "
                "Au-delà, saisissez une demi-journée « Après-midi ».",
                field="slots",
            )
        if current.half_day == HalfDay.AFTERNOON and current.start_time < AFTERNOON_EARLIEST_START:
            raise DomainError(
                f"Demi-journée « {name} » : un après-midi commence au plus tôt à 11h00. "
                "Avant, saisissez une demi-journée « Matin ».",
                field="slots",
            )
        cleaned.append(current)
    if not cleaned:
        raise DomainError(
            "Indiquez au moins une demi-journée (jour, matin ou après-midi, horaires).", field="slots"
        )
    cleaned.sort(key=lambda s: (s.day, s.half_day))
    by_day: dict[date, dict[str, SlotInput]] = {}
    for slot in cleaned:
        by_day.setdefault(slot.day, {})[slot.half_day] = slot
    for day, halves in by_day.items():
        morning, afternoon = halves.get(HalfDay.MORNING), halves.get(HalfDay.AFTERNOON)
        if morning and afternoon and afternoon.start_time < morning.end_time:
            raise DomainError(
                f"Le {date_fr(day)}, l'après-midi commence avant la fin du matin : corrigez les horaires.",
                field="slots",
            )
    return cleaned


def _text(value: str | None, max_length: int, label: str, field_name: str, *, required: bool = False) -> str:
    text = " ".join((value or "").split()) if field_name != "notes" else (value or "").strip()
    if required and not text:
        raise DomainError(f"{label} : ce champ est obligatoire.", field=field_name)
    if len(text) > max_length:
        raise DomainError(f"{label} : {max_length} caractères au plus.", field=field_name)
    return text


def slot_hours(slots: list[SlotInput]) -> Decimal:
    """Hours of teaching in the half-days (end minus start of each), to the minute."""
    minutes = sum(
        (datetime.combine(s.day, s.end_time) - datetime.combine(s.day, s.start_time)).seconds // 60
        for s in slots
    )
    return Decimal(minutes) / 60


def _hours_fr(hours: Decimal) -> str:
    whole = int(hours)
    minutes = int((hours - whole) * 60)
    return f"{whole} h {minutes:02d}" if minutes else f"{whole} h"


def check_length(action: CollectiveAction, slots: list[SlotInput]) -> None:
    """The half-days must add up to the action's duration, give or take 10 % and never more than one hour.

    The OPCO funds the action's duration: a 7 h action delivered in one half-day is not that action. The
    tolerance lets a schedule vary a little (9h00–12h00 and 13h00–17h00 for 7 h, a longer break) but catches
    a missing or extra half-day (3 h or more) whatever the duration.
    """
    duration = Decimal(action.duration_hours)
    total = slot_hours(slots)
    tolerance = min(duration * Decimal("0.10"), Decimal(1))
    if abs(total - duration) > tolerance:
        raise DomainError(
            f"Les demi-journées totalisent {_hours_fr(total)} alors que l'action « {action.title} » dure "
            f"{_hours_fr(duration)} : ajoutez ou retirez des demi-journées, ou ajustez les horaires "
            f"(écart admis : {_hours_fr(tolerance)} au plus).",
            field="slots",
        )


# --- Checks shared by creating, editing and opening --------------------------------------------------


def check_qualiopi(provider: TrainingProvider, today: date) -> None:
    """Only a provider certified Qualiopi for "actions de formation" today may open sessions."""
    if qualiopi_is_valid(provider.qualiopi_expires_on, today, provider.qualiopi_category_list):
        return
    if provider.qualiopi_expires_on < today:
        raise DomainError(
            f"Votre certificat Qualiopi a expiré le {date_fr(provider.qualiopi_expires_on)} : "
            "vous ne pouvez pas ouvrir de session."
        )
    raise DomainError(
        "Votre certificat Qualiopi ne couvre pas les actions de formation : vous ne pouvez pas ouvrir de session."
    )


def check_referencing(referencing: Referencing, first_day: date, last_day: date) -> None:
    """The referencing must be active, its action published, and its period must cover the session."""
    action = referencing.action
    if referencing.status != ReferencingStatus.ACTIVE:
        state = ReferencingStatus.LABELS[referencing.status].lower()
        why = f" ({referencing.status_reason})" if referencing.status_reason else ""
        raise DomainError(
            f"Votre référencement sur « {action.title} » est {state}{why} : "
            "vous ne pouvez pas ouvrir de session pour cette action.",
            field="referencing_id",
        )
    if action.status != ActionStatus.PUBLISHED:
        raise DomainError(
            f"L'action « {action.title} » n'est pas publiée par l'OPCO : vous ne pouvez pas encore "
            "ouvrir de session.",
            field="referencing_id",
        )
    if first_day < referencing.valid_from or last_day > referencing.valid_until:
        raise DomainError(
            f"Votre référencement sur « {action.title} » est valable du {date_fr(referencing.valid_from)} "
            f"au {date_fr(referencing.valid_until)} : toutes les dates de la session doivent être comprises "
            "dans cette période.",
            field="slots",
        )


def referencing_of(provider: TrainingProvider, referencing_id: int | None) -> Referencing:
    referencing = None
    if referencing_id:
        referencing = db.session.scalar(
            select(Referencing).where(
                Referencing.id == referencing_id, Referencing.provider_id == provider.id
            )
        )
    if referencing is None:
        raise DomainError("Choisissez une action pour laquelle vous êtes référencé.", field="referencing_id")
    return referencing


@dataclass
class CleanSession:
    slots: list[SlotInput]
    values: dict = field(default_factory=dict)


def clean(data: SessionInput, referencing: Referencing, today: date, *, seats_held: int = 0) -> CleanSession:
    """Validate everything but the referencing and Qualiopi; returns the slots and the column values."""
    action = referencing.action
    slots = clean_slots(data.slots)
    first_day, last_day = slots[0].day, slots[-1].day
    values: dict = {}

    # Place: an action "en distanciel" is delivered remotely; otherwise the session needs an address.
    is_remote = bool(data.is_remote) or action.modality == Modality.REMOTE
    if is_remote and action.modality == Modality.ONSITE:
        raise DomainError(
            f"L'action « {action.title} » se déroule en présentiel : indiquez le lieu de la session.",
            field="is_remote",
        )
    if is_remote:
        values.update(is_remote=True, address="", postal_code="", city="", region_code=None)
        values["connection_url"] = trainee_information.clean_connection_url(data.connection_url)
    else:
        address = _text(data.address, 300, "Adresse", "address", required=True)
        postal_code = _text(data.postal_code, 5, "Code postal", "postal_code", required=True).replace(" ", "")
        if not _POSTAL_CODE_RE.match(postal_code):
            raise DomainError("Le code postal doit comporter 5 chiffres.", field="postal_code")
        city = _text(data.city, 120, "Commune", "city", required=True)
        # The region is the postal code's (regional actions and funding depend on it): derived, or checked.
        if data.region_code and db.session.get(Region, data.region_code) is None:
            raise DomainError("Choisissez la région où se tient la session.", field="region_code")
        region = db.session.get(Region, region_for_address(postal_code, data.region_code))
        if not action.is_national and region.code not in action.region_codes:
            names = ", ".join(sorted(action.region_names))
            raise DomainError(
                f"L'action « {action.title} » n'est ouverte que dans ces régions : {names}.",
                field="region_code",
            )
        values.update(
            is_remote=False, address=address, postal_code=postal_code, city=city, region_code=region.code
        )
        values["connection_url"] = ""

    # Capacity.
    if data.capacity_min is None:
        raise DomainError("Indiquez le nombre minimum de stagiaires.", field="capacity_min")
    if data.capacity_max is None:
        raise DomainError("Indiquez le nombre maximum de stagiaires.", field="capacity_max")
    if data.capacity_min < 1:
        raise DomainError("Le nombre minimum de stagiaires doit être d'au moins 1.", field="capacity_min")
    if data.capacity_max > 1000:
        raise DomainError("Le nombre maximum de stagiaires ne peut pas dépasser 1 000.", field="capacity_max")
    if data.capacity_min > data.capacity_max:
        raise DomainError(
            f"Le nombre minimum de stagiaires ({data.capacity_min}) ne peut pas dépasser le nombre maximum "
            f"({data.capacity_max}).",
            field="capacity_min",
        )
    if data.capacity_max < seats_held:
        raise DomainError(
            f"Vous ne pouvez pas ramener la capacité maximale à {data.capacity_max} : "
            f"{seats_held} places sont déjà prises par des inscriptions.",
            field="capacity_max",
        )
    values.update(capacity_min=data.capacity_min, capacity_max=data.capacity_max)

    # Registration deadline: on or before the first day.
    deadline = data.registration_deadline
    if deadline is None:
        raise DomainError("Indiquez la date limite d'inscription.", field="registration_deadline")
    if deadline > first_day:
        raise DomainError(
            f"La date limite d'inscription ({date_fr(deadline)}) doit être au plus tard le premier jour de la "
            f"session ({date_fr(first_day)}).",
            field="registration_deadline",
        )
    values["registration_deadline"] = deadline

    # People.
    values["trainer_names"] = _text(data.trainer_names, 300, "Formateurs", "trainer_names")
    values["contact_name"] = _text(
        data.contact_name, 200, "Personne à contacter", "contact_name", required=True
    )
    email = _text(data.contact_email, 254, "E-mail de contact", "contact_email", required=True).lower()
    if not _EMAIL_RE.match(email):
        raise DomainError("L'adresse e-mail de contact n'est pas valide.", field="contact_email")
    values["contact_email"] = email
    values["contact_phone"] = _text(data.contact_phone, 30, "Téléphone de contact", "contact_phone")
    values["notes"] = _text(data.notes, 5000, "Informations pratiques", "notes")
    values.update(start_date=first_day, end_date=last_day)
    return CleanSession(slots, values)
