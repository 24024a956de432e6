"""Enrolments: taking seats safely, cancellation, replacement and OPCO approval.

Seats are never check-then-insert: every change that takes or frees a seat runs after
``locking.lock_session`` in the same transaction, counts the holders (``seats_held`` for confirmed and
awaiting-approval enrolments, plus live waiting-list offers), then writes. A CHECK on the session keeps
``seats_held`` within capacity as a backstop, and a partial unique index keeps one live enrolment per
employee and session.

Rules that span several sessions — the company's caps (per SIREN, over the action's campaign) and "one
employee is not in two places on the same half-day" — cannot be protected by the session lock alone: two
requests on two different sessions would each lock their own session and both pass. So enrolling, replacing
and accepting an offer first take the company's lock (``lock_company``: one ``companies`` row per SIREN), then the
session's. The order is fixed — company first, then session — everywhere both are taken; operations that
only touch one session (cancel, approve, refuse, expiry, the organisation cancelling its session) take the
session lock alone and never a company lock after it. With one global order no two requests can each hold
the lock the other waits for, so there is no deadlock; and the company lock comes first because it is the
wider rule (several sessions of one company), the session lock the narrower one (seats).

The figures of an enrolment (HT, VAT, TTC, funded, remainder) and the rules that applied when it was made
(notice period of free cancellation, caps) are frozen on it: later changes to the action are not retroactive.

A seat is confirmed (enrolment, waiting-list offer accepted, OPCO approval) only while the OPCO can fund the
session: referencing active, Qualiopi certificate valid up to the session's last day
(``eligibility.funding_blocker``, through ``check_funding``).

Split by sub-domain: the statuses and their one ``transition`` are in services.enrolment_states, the waiting
list in services.waitlist, who is told what in services.enrolment_notices, what a cancelled or starting
session does to its enrolments in services.session_enrolments, and what pages read (seats left, cancellation
deadline) in services.enrolment_reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.extensions import db
from marketplace.formatting import dates_fr, paris_today
from marketplace.models import (
    Company,
    Employee,
    Enrolment,
    EnrolmentStatus,
    SessionSlot,
    SessionStatus,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.models.limits import REASON
from marketplace.services import (
    audit,
    budgets,
    eligibility,
    enrolment_notices,
    enrolment_states,
    funding,
    outbox,
)
from marketplace.services.enrolment_reads import is_late_cancellation
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.identifiers import size_band
from marketplace.services.locking import lock_and_read, lock_row, lock_session
from marketplace.services.text import has_control

S = EnrolmentStatus


# --- Locks -----------------------------------------------------------------------------------------------


def lock_company(company_id: int) -> None:
    """Lock the company for the rest of the transaction (before any session lock, see the module doc).

    Caps count every establishment of the same SIREN, so all of them share one lock: the row of the
    SIREN's first establishment. The row is taken in ``companies``, not ``organisations``: audit events and
    emails reference ``organisations``, and on PostgreSQL inserting them takes a KEY SHARE lock on the row
    that waits for our FOR UPDATE. A company cancelling on a session (session lock, then an audit event of
    the company) would then wait for an enrolment of the same company that waits for that session: a
    deadlock. Only enrolments and employees reference ``companies``, and enrolments are inserted here,
    under this very lock.
    """
    lock_row(Company.__table__, _SIREN_HEAD, {"company_id": company_id})  # one statement: which row, its lock


# Made once: building the statement costs more than running it.
_THIS = Company.__table__.alias("this_company")
_SAME = Company.__table__.alias("same_siren")
_SIREN_HEAD = func.coalesce(
    select(func.min(_SAME.c.id))
    .where(
        _SAME.c.siren == select(_THIS.c.siren).where(_THIS.c.id == bindparam("company_id")).scalar_subquery()
    )
    .scalar_subquery(),
    bindparam("company_id"),
)


# --- Enrolling -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one employee in an enrolment request (shown to the company, line by line)."""

    employee: Employee
    enrolment: Enrolment | None
    reason: str | None = None

    @property
    def status(self) -> str:
        return self.enrolment.status if self.enrolment else "refused_eligibility"

    @property
    def label(self) -> str:
        if self.enrolment is None:
            return "Refusée"
        return S.LABELS[self.enrolment.status]


def _live_enrolments(
    employee_ids: list[int], session: TrainingSession
) -> tuple[set[int], dict[int, TrainingSession]]:
    """Who is already enrolled (live) on this session, and who on another session sharing a half-day with it
    (with that session), in one statement; the other sessions are loaded only when there is a clash."""
    if not employee_ids:
        return set(), {}
    rows = db.session.execute(_LIVE, {"employees": employee_ids, "session_id": session.id}).all()
    already = {employee_id for employee_id, session_id in rows if session_id == session.id}
    busy = {
        employee_id: db.session.get(TrainingSession, session_id)
        for employee_id, session_id in rows
        if session_id != session.id
    }
    return already, busy


# Built once (building and keying a statement costs more than running it, on the enrolment's path). A half-day
# is shared when a slot of the other session has the day and half-day of one of this session's slots.
_THEIRS, _OURS = SessionSlot.__table__.alias("their_slot"), SessionSlot.__table__.alias("our_slot")
_LIVE = select(Enrolment.employee_id, Enrolment.session_id).where(
    Enrolment.employee_id.in_(bindparam("employees", expanding=True)),
    Enrolment.status.in_(S.LIVE),
    or_(
        Enrolment.session_id == bindparam("session_id"),
        select(_THEIRS.c.id)
        .join(_OURS, (_OURS.c.day == _THEIRS.c.day) & (_OURS.c.half_day == _THEIRS.c.half_day))
        .where(_THEIRS.c.session_id == Enrolment.session_id, _OURS.c.session_id == bindparam("session_id"))
        .exists(),
    ),
)


def _busy_elsewhere(employee_ids: list[int], session: TrainingSession) -> dict[int, TrainingSession]:
    """Employees already enrolled (live) on another session sharing a half-day with this one."""
    return _live_enrolments(employee_ids, session)[1]


def enrol(
    company: Company, session_id: int, employee_ids: list[int], actor: User, *, now: datetime | None = None
) -> list[Outcome]:
    """Enrol several employees at once; each gets confirmed, awaiting approval, waiting list or refused.

    Eligibility is checked for each person in order (the company's caps fill up as the batch goes);
    seats are taken under the session lock, and whoever finds no seat left joins the waiting list.

    Every request on a popular session queues for its row lock, so the work is split to keep that lock short:
    what only reads (the session and what its checks, figures and emails need, the provider's contacts) runs
    before any lock; the company-wide rules (caps, already enrolled, same half-day elsewhere), which only this
    company's requests change, run under the company lock; under the session lock remain the seat count, the
    re-check of the session's state and the writes. The emails are rendered after the commit.
    """
    now = now or utcnow()
    today = paris_today(now)
    wanted = list(dict.fromkeys(int(i) for i in employee_ids))
    if not wanted:
        raise DomainError("Choisissez au moins un salarié à inscrire.", field="employee_ids")
    employees = db.session.scalars(_EMPLOYEES, {"company_id": company.id, "ids": wanted}).all()
    if len(employees) != len(wanted):
        raise DomainError("Un des salariés choisis ne figure pas dans votre registre.", field="employee_ids")

    # 1. Read only, no lock yet.
    session = db.session.get(TrainingSession, session_id)
    if session is None:
        raise NotFound("Cette session n'existe pas.")
    if session.opco_id != company.opco_id and session.status == SessionStatus.DRAFT:
        raise DomainError("Cette session n'existe pas.")
    band = size_band(company.headcount)
    figures = funding.for_session(session, band, company)
    action = session.action
    contacts = [actor.email] if actor is not None else None
    provider_emails = enrolment_notices.provider_contacts(session.provider_id)

    # 2. Company lock (company first, then session: see the module docstring): the company-wide rules.
    lock_company(company.id)
    counts = eligibility.company_counts(company, [session])
    eligibility.blockers(company, session, today, counts)  # loads what the checks read, before the seat lock
    already, busy = _live_enrolments(wanted, session)

    # 3. Session lock: the session's state and seats read again, then the writes only.
    available = _lock_seats(session, now)
    budget = budgets.Admission(session)  # the envelope's lock, last (company → session → envelope)
    outcomes: list[Outcome] = []
    created: list[Enrolment] = []
    taken = 0
    for employee in employees:
        reasons = eligibility.blockers(company, session, today, counts, extra=taken)
        if reasons:
            outcomes.append(Outcome(employee, None, reasons[0]))
            continue
        if employee.id in already:
            outcomes.append(
                Outcome(employee, None, f"{employee.full_name} est déjà inscrit(e) sur cette session.")
            )
            continue
        if employee.id in busy:
            other = busy[employee.id]
            outcomes.append(
                Outcome(
                    employee,
                    None,
                    f"{employee.full_name} est déjà inscrit(e) à « {other.action.title} » "
                    f"aux mêmes dates ({dates_fr(other.start_date, other.end_date)}).",
                )
            )
            continue
        if available > 0:
            status = S.PENDING_APPROVAL if action.requires_approval else S.CONFIRMED
            status, refusal = budget.admit(status, figures.opco_amount_cents)
            if refusal:
                outcomes.append(Outcome(employee, None, refusal))
                continue
            available -= 1
            session.seats_held += 1
        else:
            status = S.WAITLISTED
        enrolment = Enrolment(
            session=session,
            company_id=company.id,
            employee=employee,
            opco_id=session.opco_id,
            provider_id=session.provider_id,
            status=status,
            price_cents=figures.price_cents,
            funded_cents=figures.funded_cents,
            remainder_cents=figures.remainder_cents,
            vat_rate=figures.vat_rate,
            vat_cents=figures.vat_cents,
            price_ttc_cents=figures.price_ttc_cents,
            funding_basis=figures.basis,
            opco_amount_cents=figures.opco_amount_cents,
            remainder_ttc_cents=figures.remainder_ttc_cents,
            size_band=band,
            cancellation_days=action.cancellation_days,
            cap_per_session=action.cap_per_company_per_session,
            cap_per_year=action.cap_per_company_per_year,
            dedit_rate_pct=action.dedit_rate_pct,
            requested_by=actor,
            waitlisted_at=now if status == S.WAITLISTED else None,
            created_at=now,
        )
        db.session.add(enrolment)
        if status in eligibility.COUNTED_FOR_CAPS:  # a waiting-list place does not use the caps
            taken += 1
        created.append(enrolment)
        outcomes.append(Outcome(employee, enrolment))
    db.session.flush()  # one INSERT for the batch; the audit events need the ids
    budgets.on_created(created)
    for enrolment in created:
        audit.record(
            "enrolment.created",
            organisation_id=company.id,
            actor=actor,
            obj=enrolment,
            data={"session": session.id, "employee": enrolment.employee_id, "status": enrolment.status},
        )
    if created:
        enrolment_notices.emails_of_new_enrolments(session, created, contacts, provider_emails)
        enrolment_notices.convoke_if_due(*created, now=now)
    return outcomes


_EMPLOYEES = (
    select(Employee)
    .where(
        Employee.company_id == bindparam("company_id"),
        Employee.id.in_(bindparam("ids", expanding=True)),
        Employee.erased_at.is_(None),
    )
    .order_by(Employee.last_name, Employee.first_name)
)


def _lock_seats(session: TrainingSession, now: datetime) -> int:
    """Take the session's row lock; read its state and seats again under it; return the free seats.

    Only the columns that may have changed since the session was read (another enrolment, a cancellation, the
    organisation closing or cancelling it) are read again, with the live offers, in one statement: no reload of
    the session's joined relations while everybody else waits.
    """
    fresh = lock_and_read(
        TrainingSession.__table__, session.id, _SEATS, {"session_id": session.id, "now": now}
    )
    if fresh is None:
        raise NotFound("Cette session n'existe pas.")
    for name in ("status", "seats_held", "capacity_max", "registration_deadline"):
        set_committed_value(session, name, getattr(fresh, name))
    return max(0, fresh.capacity_max - fresh.seats_held - fresh[-1])


_SEATS = select(
    TrainingSession.status,
    TrainingSession.seats_held,
    TrainingSession.capacity_max,
    TrainingSession.registration_deadline,
    select(func.count(Enrolment.id))
    .where(
        Enrolment.session_id == TrainingSession.id,
        Enrolment.status == S.OFFERED,
        Enrolment.offer_expires_at > bindparam("now"),
    )
    .scalar_subquery(),
).where(TrainingSession.id == bindparam("session_id"))


# --- Changing an enrolment -------------------------------------------------------------------------------


def locked(enrolment: Enrolment, *, with_company: bool = False) -> Enrolment:
    """Lock the enrolment's session (and first its company, for rules spanning sessions) and reload it."""
    if with_company:
        lock_company(enrolment.company_id)
    lock_session(enrolment.session_id)
    return db.session.get(Enrolment, enrolment.id, populate_existing=True)


def cancel(enrolment: Enrolment, actor: User, *, now: datetime | None = None) -> Enrolment:
    """The company cancels: free before the deadline, allowed but flagged late after it."""
    now = now or utcnow()
    enrolment = locked(enrolment)
    if enrolment.status not in S.ACTIVE:
        raise DomainError("Cette inscription n'est plus active : elle ne peut pas être annulée.")
    if paris_today(now) >= enrolment.session.start_date and enrolment.status in S.SEAT_HOLDING:
        raise DomainError(
            "La session a commencé : l'inscription ne peut plus être annulée ici. "
            "Contactez l'organisme de formation."
        )
    late = is_late_cancellation(enrolment, paris_today(now))
    enrolment_states.transition(enrolment, "cancel", actor, reason="Annulation hors délai" if late else None)
    enrolment.cancelled_at = now
    enrolment.is_late_cancellation = late
    enrolment_notices.notify(enrolment, "enrolment_cancelled", cancelled_by=actor)
    enrolment_notices.notify_trainee(enrolment, "enrolment_cancelled_trainee")
    enrolment_notices.notify_provider(enrolment.session, [enrolment], "provider_enrolment_cancelled")
    from marketplace.services import waitlist  # circular: the waiting list locks through this module

    waitlist.offer_free_seats(enrolment.session, actor, now=now)
    return enrolment


def replace(
    enrolment: Enrolment, new_employee_id: int, actor: User, *, now: datetime | None = None
) -> Enrolment:
    """Send a colleague instead, before the session starts; the seat and its funding stay the same."""
    now = now or utcnow()
    enrolment = locked(enrolment, with_company=True)  # the newcomer's half-days span other sessions
    if enrolment.status not in S.ACTIVE:
        raise DomainError("Seule une inscription active peut être transférée à un autre salarié.")
    if paris_today(now) >= enrolment.session.start_date:
        raise DomainError("La session a commencé : le remplacement n'est plus possible.")
    newcomer = db.session.scalar(
        select(Employee).where(
            Employee.id == new_employee_id,
            Employee.company_id == enrolment.company_id,
            Employee.erased_at.is_(None),
        )
    )
    if newcomer is None:
        raise DomainError("Choisissez un salarié de votre registre.", field="employee_id")
    if newcomer.id == enrolment.employee_id:
        raise DomainError("Choisissez un autre salarié que la personne déjà inscrite.", field="employee_id")
    clash = db.session.scalar(
        select(Enrolment.id).where(
            Enrolment.session_id == enrolment.session_id,
            Enrolment.employee_id == newcomer.id,
            Enrolment.status.in_(S.LIVE),
        )
    )
    if clash:
        raise DomainError(f"{newcomer.full_name} est déjà inscrit(e) sur cette session.", field="employee_id")
    busy = _busy_elsewhere([newcomer.id], enrolment.session)
    if busy:
        other = busy[newcomer.id]
        raise DomainError(
            f"{newcomer.full_name} est déjà inscrit(e) à « {other.action.title} » aux mêmes dates.",
            field="employee_id",
        )
    previous = enrolment.employee_id
    enrolment.employee = newcomer
    audit.record(
        "enrolment.replaced",
        organisation_id=enrolment.company_id,
        actor=actor,
        obj=enrolment,
        data={"from_employee": previous, "to_employee": newcomer.id},
    )
    if enrolment.status in S.SEAT_HOLDING and newcomer.email:
        outbox.queue_email(
            newcomer.email, "enrolment_trainee", organisation_id=enrolment.company_id, enrolment=enrolment
        )
    enrolment_notices.convoke_if_due(enrolment, now=now, replaced=True)
    return enrolment


def approve(enrolment: Enrolment, actor: User, opco_id: int) -> Enrolment:
    """The OPCO accepts to fund an enrolment that needed its approval."""
    enrolment = locked(enrolment)
    if enrolment.status == S.PENDING_APPROVAL:  # else the state machine refuses with its own message
        if enrolment.session.status == SessionStatus.DELIVERED:
            raise DomainError(
                "La session est clôturée (service fait) : cette inscription ne peut plus être validée ; "
                "refusez-la en indiquant le motif."
            )
        check_funding(enrolment.session)
    enrolment_states.transition(enrolment, "approve", actor, actor_org_id=opco_id)
    enrolment.decided_at = utcnow()
    enrolment_notices.notify(enrolment, "enrolment_approved")
    if enrolment.employee.email and enrolment.employee.erased_at is None:
        outbox.queue_email(
            enrolment.employee.email,
            "enrolment_trainee",
            organisation_id=enrolment.company_id,
            enrolment=enrolment,
        )
    if enrolment.session.status == SessionStatus.IN_PROGRESS:
        from marketplace.services import attendance  # circular: attendance moves enrolments into training

        attendance.join_in_progress(enrolment, actor, opco_id)
    else:
        enrolment_notices.convoke_if_due(enrolment)
    return enrolment


def refuse(
    enrolment: Enrolment, actor: User, opco_id: int, reason: str, *, now: datetime | None = None
) -> Enrolment:
    """The OPCO refuses (reason required); the seat goes to the waiting list."""
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise DomainError("Indiquez le motif du refus : il sera transmis à l'entreprise.", field="reason")
    if len(reason) > REASON:
        raise DomainError(f"Le motif du refus : {REASON} caractères au maximum.", field="reason")
    if has_control(reason):
        raise DomainError("Le motif du refus contient des caractères non autorisés.", field="reason")
    enrolment = locked(enrolment)
    enrolment_states.transition(enrolment, "refuse", actor, actor_org_id=opco_id, reason=reason)
    enrolment.decided_at = utcnow()
    enrolment_notices.notify(enrolment, "enrolment_refused")
    from marketplace.services import waitlist  # circular: the waiting list locks through this module

    waitlist.offer_free_seats(enrolment.session, actor, now=now)
    return enrolment


def check_funding(session: TrainingSession) -> None:
    """A seat confirmed (offer accepted, OPCO approval) needs the OPCO to be able to fund the session: the
    referencing still active and a Qualiopi certificate covering the session up to its last day."""
    unfunded = eligibility.funding_blocker(session)
    if unfunded:
        raise DomainError(unfunded)
