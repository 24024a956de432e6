"""Read models of the training organisation's session pages: the list, the form's choices, the detail page.

Kept apart from ``sessions`` (which changes sessions under their row lock) so the views hold no query and
that module stays about the rules. ``sessions`` still answers for the names that lived there before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.formatting import date_fr, money_fr, paris_today
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Enrolment,
    EnrolmentStatus,
    Referencing,
    ReferencingStatus,
    SessionStatus,
    TrainingProvider,
    TrainingSession,
    utcnow,
)
from marketplace.services import enrolment_reads, reference_lists
from marketplace.services.errors import DomainError
from marketplace.services.pagination import paginate
from marketplace.services.session_input import check_qualiopi
from marketplace.services.sessions import AWAITING_MINIMUM, EDITABLE, SESSION

St = SessionStatus

PERIODS = {"upcoming": "À venir et en cours", "past": "Passées", "all": "Toutes"}
PER_PAGE = 20


# --- The list -----------------------------------------------------------------------------------------------


@dataclass
class SessionRow:
    session: TrainingSession
    counts: dict[str, int]

    @property
    def fill_rate(self) -> float:
        return self.session.seats_held / self.session.capacity_max

    @property
    def fill_percent(self) -> int:
        return round(100 * self.fill_rate)

    @property
    def minimum_reached(self) -> bool:
        return self.session.seats_held >= self.session.capacity_min

    @property
    def below_minimum(self) -> bool:
        return self.session.status in AWAITING_MINIMUM and not self.minimum_reached

    @property
    def waitlisted(self) -> int:
        return self.counts.get(EnrolmentStatus.WAITLISTED, 0)

    @property
    def pending(self) -> int:
        return self.counts.get(EnrolmentStatus.PENDING_APPROVAL, 0)


@dataclass
class SessionPage:
    rows: list[SessionRow]
    total: int
    page: int
    pages: int


def clean_filters(status: str | None, period: str | None) -> tuple[str, str]:
    """The list's filters as asked, or their defaults when the value is not one of the choices."""
    status = status if status in St.LABELS else ""
    period = period if period in PERIODS else "upcoming"
    return status, period


def sessions_for_provider(
    provider: TrainingProvider,
    *,
    status: str | None = None,
    period: str = "upcoming",
    page: int = 1,
    per_page: int = PER_PAGE,
    today: date | None = None,
) -> SessionPage:
    """The provider's sessions, filtered and paginated, each with its enrolment counts by state.

    A constant number of queries whatever the number of rows: one count, one page, and one grouped count of
    enrolments for the whole page. The page asked for is clamped (``services.pagination``).
    """
    today = today or paris_today()
    query = select(TrainingSession).where(TrainingSession.provider_id == provider.id)
    if status in St.LABELS:
        query = query.where(TrainingSession.status == status)
    if period == "past":
        query = query.where(TrainingSession.end_date < today)
        order = (TrainingSession.start_date.desc(), TrainingSession.id.desc())
    elif period == "upcoming":
        query = query.where(TrainingSession.end_date >= today)
        order = (TrainingSession.start_date, TrainingSession.id)
    else:
        order = (TrainingSession.start_date.desc(), TrainingSession.id.desc())
    result = paginate(query.order_by(*order), page, per_page, unique=True)
    sessions = result.items
    counts: dict[int, dict[str, int]] = {s.id: {} for s in sessions}
    if sessions:
        for session_id, state, number in db.session.execute(
            select(Enrolment.session_id, Enrolment.status, func.count(Enrolment.id))
            .where(Enrolment.session_id.in_(list(counts)))
            .group_by(Enrolment.session_id, Enrolment.status)
        ):
            counts[session_id][state] = int(number)
    return SessionPage(
        [SessionRow(s, counts[s.id]) for s in sessions], result.total, result.page, result.pages
    )


# --- Trainees of one session --------------------------------------------------------------------------------


@dataclass
class Trainees:
    """A session's enrolments by state, each with its employee, company and requester loaded."""

    confirmed: list[Enrolment]
    pending: list[Enrolment]
    offered: list[Enrolment]
    waitlist: list[Enrolment]
    cancelled: list[Enrolment]

    @property
    def all(self) -> list[Enrolment]:
        return self.confirmed + self.pending + self.offered + self.waitlist + self.cancelled

    @property
    def active(self) -> list[Enrolment]:
        """The enrolments a cancellation of the session would end."""
        return self.confirmed + self.pending + self.offered + self.waitlist


_CANCELLED_GROUP = (
    EnrolmentStatus.CANCELLED,
    EnrolmentStatus.REFUSED,
    EnrolmentStatus.OFFER_DECLINED,
    EnrolmentStatus.OFFER_EXPIRED,
    EnrolmentStatus.SESSION_CANCELLED,
    EnrolmentStatus.WAITLIST_CLOSED,
)


def trainees(session: TrainingSession) -> Trainees:
    """Everyone enrolled on the session, grouped: confirmed, awaiting approval, offered a seat, waiting
    list (first come first served), and cancelled or refused. One query."""
    rows = (
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.session_id == session.id)
            .options(joinedload(Enrolment.company), joinedload(Enrolment.requested_by))
        )
        .unique()
        .all()
    )

    def by_name(e: Enrolment):
        erased = e.employee.erased_at is not None
        return (erased, e.employee.last_name.lower(), e.employee.first_name.lower(), e.id)

    def of(*statuses: str) -> list[Enrolment]:
        return [e for e in rows if e.status in statuses]

    return Trainees(
        confirmed=sorted(of(*EnrolmentStatus.TRAINEES), key=by_name),
        pending=sorted(of(EnrolmentStatus.PENDING_APPROVAL), key=by_name),
        offered=sorted(of(EnrolmentStatus.OFFERED), key=lambda e: (e.offer_expires_at or datetime.max, e.id)),
        waitlist=sorted(
            of(EnrolmentStatus.WAITLISTED), key=lambda e: (e.waitlisted_at or datetime.max, e.id)
        ),
        cancelled=sorted(of(*_CANCELLED_GROUP), key=lambda e: (e.updated_at, e.id), reverse=True),
    )


def seats_left(session: TrainingSession, now: datetime | None = None) -> int:
    """Seats still free: capacity minus seats held minus live waiting-list offers."""
    return enrolment_reads.seats_left(session, now or utcnow())


@dataclass
class SessionDetail:
    trainees: Trainees
    seats_left: int
    events: list[tuple[str, str]]
    editable: bool


def allowed_events(session: TrainingSession) -> list[tuple[str, str]]:
    """(event, French label) of the moves possible from the session's current state."""
    return [(event, SESSION.transitions[event].label) for event in SESSION.allowed(session.status)]


def session_detail(session: TrainingSession, now: datetime | None = None) -> SessionDetail:
    """What the session's page shows: trainees by state, free seats and the moves possible now."""
    return SessionDetail(
        trainees=trainees(session),
        seats_left=seats_left(session, now),
        events=allowed_events(session),
        editable=session.status in EDITABLE,
    )


def refusal_of(session: TrainingSession, event: str) -> str | None:
    """Why the page of a move (postpone, cancel) is not open for this session, or None when it is."""
    if SESSION.can(session.status, event):
        return None
    label = SESSION.transitions[event].label
    return f"« {label} » n'est pas possible pour une session « {session.status_label} »."


def not_editable(session: TrainingSession) -> str | None:
    """Why the session can no longer be edited, or None."""
    if session.status in EDITABLE:
        return None
    return f"Une session « {session.status_label} » ne peut plus être modifiée."


# --- The session form ---------------------------------------------------------------------------------------


def referencings_for(provider: TrainingProvider, today: date) -> list[Referencing]:
    """The provider's own active referencings on published actions, still valid from today on."""
    return list(
        db.session.scalars(
            select(Referencing)
            .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
            .where(
                Referencing.provider_id == provider.id,
                Referencing.status == ReferencingStatus.ACTIVE,
                Referencing.valid_until >= today,
                CollectiveAction.status == ActionStatus.PUBLISHED,
            )
            .order_by(CollectiveAction.title, Referencing.id)
        ).unique()
    )


def referencing_label(referencing: Referencing) -> str:
    action = referencing.action
    return (
        f"{action.title} ({action.reference}) — {action.opco.name} — {money_fr(referencing.price_cents, 'HT')} "
        f"par stagiaire — référencé jusqu'au {date_fr(referencing.valid_until)}"
    )


def region_choices() -> list[tuple[str, str]]:
    """The regions a session may be held in, by name, after an empty « choose » entry."""
    return [("", "— Choisissez —")] + [(r.code, r.name) for r in reference_lists.regions()]


def qualiopi_problem(provider: TrainingProvider, today: date) -> str | None:
    """Why the provider cannot open a session today (Qualiopi), said before the form is filled in."""
    try:
        check_qualiopi(provider, today)
    except DomainError as error:
        return error.message
    return None


@dataclass
class SessionFormChoices:
    referencings: list[Referencing]
    referencing_choices: list[tuple[int, str]]
    regions: list[tuple[str, str]]
    qualiopi_problem: str | None


def new_session_form(provider: TrainingProvider, today: date) -> SessionFormChoices:
    """The choices of the creation form: only this provider's usable referencings, the regions, and the
    Qualiopi problem if any. A referencing id posted outside these choices is refused by the form."""
    referencings = referencings_for(provider, today)
    return SessionFormChoices(
        referencings=referencings,
        referencing_choices=[(r.id, referencing_label(r)) for r in referencings],
        regions=region_choices(),
        qualiopi_problem=qualiopi_problem(provider, today),
    )
