"""Sessions of a collective action, on the training organisation's side.

A referenced organisation whose Qualiopi certificate is valid opens sessions of the actions it is
referenced for: half-day slots with times, a place (or remote), a capacity, a registration deadline. The
half-days add up to the action's duration, within 10 % and at most one hour (:func:`check_length`).
The session's states are declared once below (``SESSION``, state machine B of the domain research) and
change only through :func:`transition`, which also applies each move's rule and side effects: confirming
needs the minimum of trainees and an OPCO still able to fund the session (active referencing, Qualiopi
certificate up to its last day), postponing sets new dates and tells everyone concerned (the OPCO too),
cancelling ends every enrolment (``services.session_enrolments.cancel_for_session``) and tells the OPCO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_today
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Enrolment,
    EnrolmentStatus,
    HalfDay,
    Modality,
    Referencing,
    ReferencingStatus,
    Region,
    SessionSlot,
    SessionStatus,
    TrainingProvider,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.services import (
    accounts,
    audit,
    convocations,
    eligibility,
    enrolment_notices,
    outbox,
    session_enrolments,
    trainee_information,
    waitlist,
)
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import qualiopi_is_valid
from marketplace.services.locking import lock_session
from marketplace.services.places import region_for_address
from marketplace.services.roles import Perm
from marketplace.services.state import machine

St = SessionStatus

SESSION = machine(
    "session",
    St.LABELS,
    publish=(St.DRAFT, St.OPEN, "Ouvrir les inscriptions"),
    close_registrations=(St.OPEN, St.CLOSED, "Clore les inscriptions"),
    reopen=((St.CLOSED, St.POSTPONED), St.OPEN, "Rouvrir les inscriptions"),
    confirm=((St.OPEN, St.CLOSED, St.POSTPONED), St.CONFIRMED, "Confirmer la session"),
    start=(St.CONFIRMED, St.IN_PROGRESS, "Démarrer la session"),
    complete=(St.IN_PROGRESS, St.COMPLETED, "Déclarer la session réalisée"),
    postpone=((St.OPEN, St.CLOSED, St.CONFIRMED), St.POSTPONED, "Reporter la session"),
    cancel=((St.DRAFT, St.OPEN, St.CLOSED, St.CONFIRMED, St.POSTPONED), St.CANCELLED, "Annuler la session"),
    deliver=(St.COMPLETED, St.DELIVERED, "Clôturer la session (service fait)"),
    request_correction=(St.DELIVERED, St.COMPLETED, "Demander une correction"),
)

# What the provider may still edit freely (dates of a session with enrolments change through a postponement).
EDITABLE = (St.DRAFT, St.OPEN)
# Not confirmed yet, still alive: worth a warning when below the minimum.
AWAITING_MINIMUM = (St.OPEN, St.CLOSED, St.POSTPONED)

# Half-day bounds. A morning ends by 14:00 and an afternoon starts from 11:00: loose enough for late
# mornings and early afternoons, strict enough to catch a slot filed under the wrong half-day (an
# attendance sheet has one line per half-day).
MORNING_LATEST_END = time(14, 0)
AFTERNOON_EARLIEST_START = time(11, 0)
DEFAULT_TIMES = {HalfDay.MORNING: (time(9, 0), time(12, 30)), HalfDay.AFTERNOON: (time(13, 30), time(17, 0))}

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTAL_CODE_RE = re.compile(r"^[0-9]{5}$")


# --- Input -------------------------------------------------------------------------------------------


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


def _referencing_of(provider: TrainingProvider, referencing_id: int | None) -> Referencing:
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
class _Clean:
    slots: list[SlotInput]
    values: dict = field(default_factory=dict)


def _clean(data: SessionInput, referencing: Referencing, today: date, *, seats_held: int = 0) -> _Clean:
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
    return _Clean(slots, values)


def _set_slots(session: TrainingSession, slots: list[SlotInput]) -> None:
    """Replace the slots, updating kept half-days in place (the unit of work inserts before it deletes,
    so deleting and re-inserting the same half-day would trip the unique constraint)."""
    existing = {(s.day, s.half_day): s for s in session.slots}
    wanted = {(s.day, s.half_day): s for s in slots}
    for key, row in existing.items():
        if key not in wanted:
            session.slots.remove(row)
    for key, slot in wanted.items():
        row = existing.get(key)
        if row is None:
            session.slots.append(
                SessionSlot(
                    day=slot.day, half_day=slot.half_day, start_time=slot.start_time, end_time=slot.end_time
                )
            )
        else:
            row.start_time, row.end_time = slot.start_time, slot.end_time


# --- Creating and editing -----------------------------------------------------------------------------


def create_session(
    provider: TrainingProvider, data: SessionInput, actor: User, today: date
) -> TrainingSession:
    """Create a draft session of an action the provider is referenced for.

    Needs a Qualiopi certificate valid today for "actions de formation", an active referencing (of this
    provider) covering the session's dates, and a published action. Price and OPCO come from the
    referencing and the action; start and end dates from the slots.
    """
    from marketplace.services import referencing_registry  # issue 4: Qualiopi expiry suspends referencings

    if referencing_registry.suspend_if_qualiopi_expired(provider, today, actor=None):  # committed on its own:
        db.session.commit()  # the refusal just below rolls the request back, the suspension must stay
    check_qualiopi(provider, today)
    referencing = _referencing_of(provider, data.referencing_id)
    cleaned = _clean(data, referencing, today)
    first_day = cleaned.slots[0].day
    check_referencing(referencing, first_day, cleaned.slots[-1].day)
    if first_day <= today:
        raise DomainError("La session doit commencer après aujourd'hui.", field="slots")
    if cleaned.values["registration_deadline"] < today:
        raise DomainError("La date limite d'inscription est déjà passée.", field="registration_deadline")
    check_length(referencing.action, cleaned.slots)
    action = referencing.action
    session = TrainingSession(
        action=action,
        provider_id=provider.id,
        opco_id=action.opco_id,
        referencing=referencing,
        status=St.DRAFT,
        price_cents=referencing.price_cents,
        seats_held=0,
        **cleaned.values,
    )
    _set_slots(session, cleaned.slots)
    db.session.add(session)
    db.session.flush()
    audit.record(
        "session.created",
        organisation_id=provider.id,
        actor=actor,
        obj=session,
        data={"action": action.id, "start_date": first_day.isoformat()},
    )
    return session


def update_session(
    session: TrainingSession, data: SessionInput, actor: User, today: date, *, now: datetime | None = None
) -> TrainingSession:
    """Edit a draft or open session (its action stays the same).

    The maximum never goes below the seats already held; once people are enrolled, changing the dates is
    a postponement (so that they are told). A larger capacity offers the new seats to the waiting list.
    """
    now = now or utcnow()
    session = lock_session(session.id)
    if session.status not in EDITABLE:
        raise DomainError(
            f"Une session « {session.status_label} » ne peut plus être modifiée ici : "
            "seules les sessions en brouillon ou aux inscriptions ouvertes le sont."
        )
    cleaned = _clean(data, session.referencing, today, seats_held=session.seats_held)
    new_dates = [(s.day, s.half_day) for s in cleaned.slots]
    old_dates = [(s.day, s.half_day) for s in session.slots]
    if new_dates != old_dates:
        if _active_enrolment_count(session) > 0:
            raise DomainError(
                "Des salariés sont déjà inscrits : pour changer les dates, reportez la session "
                "(les entreprises et les stagiaires seront prévenus).",
                field="slots",
            )
        if cleaned.slots[0].day <= today:
            raise DomainError("La session doit commencer après aujourd'hui.", field="slots")
        check_referencing(session.referencing, cleaned.slots[0].day, cleaned.slots[-1].day)
    changed = sorted(k for k, v in cleaned.values.items() if getattr(session, k) != v)
    if new_dates != old_dates or any(
        (s.start_time, s.end_time) != (row.start_time, row.end_time)
        for s, row in zip(cleaned.slots, session.slots, strict=False)
    ):
        # Checked when the half-days change only: a session made before the rule keeps its other edits.
        check_length(session.action, cleaned.slots)
        changed.append("slots")
    for key, value in cleaned.values.items():
        setattr(session, key, value)
    _set_slots(session, cleaned.slots)
    db.session.flush()
    audit.record(
        "session.updated",
        organisation_id=session.provider_id,
        actor=actor,
        obj=session,
        data={"changed": changed},
    )
    if session.status == St.OPEN:
        waitlist.offer_free_seats(session, actor, now=now)
    return session


def _active_enrolment_count(session: TrainingSession) -> int:
    return int(
        db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.session_id == session.id, Enrolment.status.in_(EnrolmentStatus.ACTIVE)
            )
        )
        or 0
    )


# --- The one way to change a session's state ---------------------------------------------------------


def transition(
    session: TrainingSession,
    event: str,
    actor: User | None,
    *,
    reason: str | None = None,
    new_slots: list[SlotInput] | None = None,
    now: datetime | None = None,
) -> TrainingSession:
    """Apply ``event`` to the session under its row lock, with the move's rule and side effects.

    publish: Qualiopi, referencing and deadline still valid. confirm: at least ``capacity_min`` seats
    held; trainees are told. start/complete: not before the first/last day. postpone: new half-days
    (required) replace the old ones, the deadline moves by as much, everyone enrolled is told and may
    withdraw without penalty. cancel: a reason is required, every live enrolment is cancelled.
    """
    now = now or utcnow()
    today = paris_today(now)
    if event not in SESSION.transitions:
        raise DomainError("Cette action n'existe pas pour une session.")
    session = lock_session(session.id)
    reason = " ".join((reason or "").split()) or None
    if reason and len(reason) > 500:
        raise DomainError("Le motif ne doit pas dépasser 500 caractères.", field="reason")
    data: dict = {}
    postponed_slots: list[SlotInput] | None = None
    if SESSION.can(session.status, event):  # else Machine.apply refuses with the usual message
        postponed_slots = _check_rule(session, event, today, reason, new_slots)
    if postponed_slots:
        data = {
            "old_start": session.start_date.isoformat(),
            "old_end": session.end_date.isoformat(),
            "new_start": postponed_slots[0].day.isoformat(),
            "new_end": postponed_slots[-1].day.isoformat(),
        }
    old_start, old_end = session.start_date, session.end_date
    previous = SESSION.apply(
        session, event, actor, organisation_id=session.provider_id, reason=reason, data=data
    )
    if reason:
        session.status_reason = reason
    db.session.flush()

    if event == "confirm":
        _notify(session, "session_confirmed", EnrolmentStatus.SEAT_HOLDING)
    elif event == "start":
        from marketplace.services.attendance import start_training  # attendance builds on this module

        start_training(session, actor)  # confirmed | convoked trainees are now in training
        session_enrolments.close_waitlist(session, actor)  # no seat is offered once the session has started
    elif event == "postpone":
        _move_dates(session, postponed_slots)
        session.postponed_at = now
        _notify(
            session,
            "session_postponed",
            EnrolmentStatus.ACTIVE,
            old_start=old_start,
            old_end=old_end,
            reason=reason,
        )
        _notify_opco(session, "session_postponed_opco", old_start=old_start, old_end=old_end, reason=reason)
        convocations.after_schedule_change(session)  # the trainees convoked get a new convocation
    elif event == "cancel":
        _notify_opco(
            session,
            "session_cancelled_opco",
            reason=reason,
            cancelled=_active_enrolment_count(session),
            was_draft=previous == St.DRAFT,
        )
        session_enrolments.cancel_for_session(session, actor, reason, now)
    db.session.flush()
    return session


def _check_rule(
    session: TrainingSession, event: str, today: date, reason: str | None, new_slots: list[SlotInput] | None
) -> list[SlotInput] | None:
    """The rule of each move, in French; returns the cleaned new slots of a postponement."""
    if event == "publish":
        check_qualiopi(session.provider, today)
        check_referencing(session.referencing, session.start_date, session.end_date)
        if session.registration_deadline < today:
            raise DomainError(
                f"La date limite d'inscription ({date_fr(session.registration_deadline)}) est passée : "
                "modifiez-la avant d'ouvrir les inscriptions."
            )
    elif event == "confirm" and (unfunded := eligibility.funding_blocker(session)):
        raise DomainError(f"La session ne peut pas être confirmée. {unfunded}")
    elif event == "confirm" and session.seats_held < session.capacity_min:
        plural = "s" if session.seats_held > 1 else ""
        raise DomainError(
            f"La session ne peut pas être confirmée : {session.seats_held} place{plural} prise{plural} "
            f"pour un minimum de {session.capacity_min} stagiaires."
        )
    elif event == "start" and today < session.start_date:
        raise DomainError(
            f"La session commence le {date_fr(session.start_date)} : vous pourrez la démarrer ce jour-là."
        )
    elif event == "complete" and today < session.end_date:
        raise DomainError(
            f"La session se termine le {date_fr(session.end_date)} : vous pourrez la déclarer réalisée ce jour-là."
        )
    elif event == "postpone":
        return _check_postponement(session, new_slots, today)
    elif event == "cancel" and (not reason or len(reason) < 3):
        raise DomainError(
            "Indiquez le motif de l'annulation : il sera transmis aux entreprises et aux stagiaires.",
            field="reason",
        )
    return None


def _check_postponement(
    session: TrainingSession, new_slots: list[SlotInput] | None, today: date
) -> list[SlotInput]:
    if not new_slots:
        raise DomainError(
            "Indiquez les nouvelles dates de la session (au moins une demi-journée).", field="slots"
        )
    slots = clean_slots(new_slots)
    if [(s.day, s.half_day) for s in slots] == [(s.day, s.half_day) for s in session.slots]:
        raise DomainError("Les nouvelles dates sont identiques aux anciennes.", field="slots")
    if slots[0].day <= today:
        raise DomainError("Les nouvelles dates doivent commencer après aujourd'hui.", field="slots")
    check_referencing(session.referencing, slots[0].day, slots[-1].day)
    check_length(session.action, slots)
    return slots


def _move_dates(session: TrainingSession, slots: list[SlotInput]) -> None:
    """New half-days; the registration deadline keeps the same lead time before the first day."""
    shift = slots[0].day - session.start_date
    _set_slots(session, slots)
    session.registration_deadline = min(session.registration_deadline + shift, slots[0].day)
    session.start_date, session.end_date = slots[0].day, slots[-1].day


def _notify(session: TrainingSession, template: str, statuses: tuple[str, ...], **context) -> None:
    """Email the company contacts and the trainees (unless erased) of the session's enrolments."""
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status.in_(statuses))
        .options(joinedload(Enrolment.requested_by))
        .order_by(Enrolment.id)
    ).all()
    for enrolment in rows:
        for email in enrolment_notices.company_contacts(enrolment):
            outbox.queue_email(
                email,
                template,
                organisation_id=enrolment.company_id,
                enrolment=enrolment,
                session=session,
                audience="company",
                **context,
            )
        employee = enrolment.employee
        if employee.email and employee.erased_at is None:
            outbox.queue_email(
                employee.email,
                template,
                organisation_id=enrolment.company_id,
                enrolment=enrolment,
                session=session,
                audience="trainee",
                **context,
            )


def opco_contacts(opco_id: int) -> list[str]:
    """The OPCO's members who manage its catalogue (they follow the sessions of its actions)."""
    return accounts.member_emails([opco_id], "opco", Perm.MANAGE_CATALOGUE).get(opco_id, [])


def _notify_opco(session: TrainingSession, template: str, **context) -> None:
    """The funder is told when a session of its catalogue is postponed or cancelled (with the reason)."""
    if session.status == St.CANCELLED and context.get("was_draft"):
        return  # a draft was never in the catalogue
    for email in opco_contacts(session.opco_id):
        outbox.queue_email(email, template, organisation_id=session.opco_id, session=session, **context)
