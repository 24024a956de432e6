"""The figures each kind of organisation sees first on its dashboard (constant number of queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    TrainingSession,
)

S = EnrolmentStatus
_RUNNING = (
    SessionStatus.OPEN,
    SessionStatus.CLOSED,
    SessionStatus.CONFIRMED,
    SessionStatus.POSTPONED,
    SessionStatus.IN_PROGRESS,
)


@dataclass
class CompanyDashboard:
    by_status: dict[str, int]
    upcoming: list[Enrolment]
    offers: list[Enrolment]
    waiting: list[tuple[Enrolment, int]] = field(default_factory=list)  # (enrolment, position)


def company_dashboard(company_id: int, today: date, now: datetime) -> CompanyDashboard:
    by_status = dict(
        db.session.execute(
            select(Enrolment.status, func.count(Enrolment.id))
            .where(Enrolment.company_id == company_id)
            .group_by(Enrolment.status)
        ).all()
    )
    upcoming = db.session.scalars(
        select(Enrolment)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(
            Enrolment.company_id == company_id,
            Enrolment.status.in_(S.SEAT_HOLDING),
            TrainingSession.end_date >= today,
        )
        .order_by(TrainingSession.start_date, Enrolment.id)
        .limit(10)
    ).all()
    offers = db.session.scalars(
        select(Enrolment)
        .where(
            Enrolment.company_id == company_id,
            Enrolment.status == S.OFFERED,
            Enrolment.offer_expires_at > now,
        )
        .order_by(Enrolment.offer_expires_at)
    ).all()
    waiting = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.company_id == company_id, Enrolment.status == S.WAITLISTED)
        .order_by(Enrolment.waitlisted_at)
        .limit(20)
    ).all()
    positions = _waitlist_positions(waiting)
    return CompanyDashboard(by_status, list(upcoming), list(offers), [(e, positions[e.id]) for e in waiting])


def _waitlist_positions(waiting: list[Enrolment]) -> dict[int, int]:
    """Position of each given waiting enrolment in its session's queue, in one query."""
    if not waiting:
        return {}
    ahead = Enrolment.__table__.alias("ahead")
    rows = db.session.execute(
        select(Enrolment.id, func.count(ahead.c.id))
        .join(
            ahead,
            (ahead.c.session_id == Enrolment.session_id)
            & (ahead.c.status == S.WAITLISTED)
            & (
                (ahead.c.waitlisted_at < Enrolment.waitlisted_at)
                | ((ahead.c.waitlisted_at == Enrolment.waitlisted_at) & (ahead.c.id <= Enrolment.id))
            ),
        )
        .where(Enrolment.id.in_([e.id for e in waiting]))
        .group_by(Enrolment.id)
    ).all()
    return {enrolment_id: int(position) for enrolment_id, position in rows}


@dataclass
class SessionFill:
    session: TrainingSession
    held: int
    waiting: int

    @property
    def fill_percent(self) -> int:
        return round(100 * self.held / self.session.capacity_max) if self.session.capacity_max else 0

    @property
    def below_minimum(self) -> bool:
        return self.held < self.session.capacity_min


def _fills(sessions: list[TrainingSession]) -> list[SessionFill]:
    ids = [s.id for s in sessions]
    waiting = (
        dict(
            db.session.execute(
                select(Enrolment.session_id, func.count(Enrolment.id))
                .where(Enrolment.session_id.in_(ids), Enrolment.status == S.WAITLISTED)
                .group_by(Enrolment.session_id)
            ).all()
        )
        if ids
        else {}
    )
    return [SessionFill(s, s.seats_held, waiting.get(s.id, 0)) for s in sessions]


def provider_sessions(provider_id: int, today: date, limit: int = 15) -> list[SessionFill]:
    """Upcoming and running sessions with their fill rate (below-minimum ones are flagged)."""
    sessions = db.session.scalars(
        select(TrainingSession)
        .where(
            TrainingSession.provider_id == provider_id,
            TrainingSession.status.in_(_RUNNING),
            TrainingSession.end_date >= today,
        )
        .order_by(TrainingSession.start_date)
        .limit(limit)
    ).all()
    return _fills(list(sessions))


@dataclass
class OpcoDashboard:
    actions_by_status: dict[str, int]
    sessions: list[SessionFill]
    pending_approvals: int
    # Sessions realised but not yet closed by their organisation (service fait), see services.service_fait.
    awaiting_service_fait: int = 0


def opco_dashboard(opco_id: int, today: date, limit: int = 15) -> OpcoDashboard:
    """Actions per state, the next sessions, and the enrolments waiting for a decision.

    Nothing here grows with the OPCO's history: the pending count reads the (opco, status) index for one
    status, i.e. the queue of requests, not the million enrolments of past campaigns.
    """
    actions = dict(
        db.session.execute(
            select(CollectiveAction.status, func.count(CollectiveAction.id))
            .where(CollectiveAction.opco_id == opco_id)
            .group_by(CollectiveAction.status)
        ).all()
    )
    sessions = db.session.scalars(
        select(TrainingSession)
        .join(CollectiveAction, CollectiveAction.id == TrainingSession.action_id)
        .where(
            TrainingSession.opco_id == opco_id,
            TrainingSession.status.in_(_RUNNING),
            TrainingSession.end_date >= today,
            CollectiveAction.status == ActionStatus.PUBLISHED,
        )
        .order_by(TrainingSession.start_date)
        .limit(limit)
    ).all()
    pending = db.session.scalar(
        select(func.count(Enrolment.id)).where(
            Enrolment.opco_id == opco_id, Enrolment.status == S.PENDING_APPROVAL
        )
    )
    awaiting = db.session.scalar(
        select(func.count(TrainingSession.id)).where(
            TrainingSession.opco_id == opco_id, TrainingSession.status == SessionStatus.COMPLETED
        )
    )
    return OpcoDashboard(
        actions, _fills(list(sessions)), int(pending or 0), awaiting_service_fait=int(awaiting or 0)
    )
