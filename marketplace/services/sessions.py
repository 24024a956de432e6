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

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_today
from marketplace.models import (
    Enrolment,
    EnrolmentStatus,
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
    session_input,
    waitlist,
)
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_session
from marketplace.services.roles import Perm
from marketplace.services.session_input import (
    SessionInput,
    SlotInput,
    check_length,
    check_qualiopi,
    check_referencing,
    clean_slots,
)
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
    referencing = session_input.referencing_of(provider, data.referencing_id)
    cleaned = session_input.clean(data, referencing, today)
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
    cleaned = session_input.clean(data, session.referencing, today, seats_held=session.seats_held)
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
