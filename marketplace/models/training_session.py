"""Sessions of a collective action, opened by a referenced training organisation, with half-day slots."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Time,
    UniqueConstraint,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin
from marketplace.models.catalogue import CollectiveAction, Referencing
from marketplace.models.limits import NOTES
from marketplace.models.organisation import TrainingProvider
from marketplace.models.reference import Region


class SessionStatus:
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "registrations_closed"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    # Closed by the training organisation once every half-day is signed (« service fait »): hours frozen.
    DELIVERED = "delivered"
    LABELS = {
        DRAFT: "Brouillon",
        OPEN: "Inscriptions ouvertes",
        CLOSED: "Inscriptions closes",
        CONFIRMED: "Confirmée",
        IN_PROGRESS: "En cours",
        COMPLETED: "Réalisée",
        POSTPONED: "Reportée",
        CANCELLED: "Annulée",
        DELIVERED: "Clôturée (service fait)",
    }
    # States in which the session is visible in the company catalogue.
    LISTED = (OPEN, CLOSED, CONFIRMED)


class HalfDay:
    MORNING = "am"
    AFTERNOON = "pm"
    LABELS = {MORNING: "Matin", AFTERNOON: "Après-midi"}


# After the sort column of the sort indexes below: the ties, then what the catalogue's filters read.
_SORTED_THEN_FILTERED = (
    "start_date",
    "id",
    "status",
    "action_id",
    "provider_id",
    "region_code",
    "capacity_max",
    "seats_held",
)


class TrainingSession(CreatedAtMixin, db.Model):
    """One session (dates, place, seats) of an action, delivered by one training organisation.

    ``seats_held`` counts the enrolments that hold a seat durably (confirmed or awaiting approval); it is
    changed only under the session row lock and a CHECK keeps it within capacity. Waiting-list offers hold
    a seat only until they expire, so they are counted live, never stored.
    """

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("capacity_min >= 1", name="capacity_min_positive"),
        CheckConstraint("capacity_max >= capacity_min", name="capacity_order"),
        CheckConstraint("seats_held >= 0 AND seats_held <= capacity_max", name="seats_within_capacity"),
        CheckConstraint("end_date >= start_date", name="dates_order"),
        CheckConstraint(
            "status IN ('draft', 'open', 'registrations_closed', 'confirmed', 'in_progress', 'completed', "
            "'postponed', 'cancelled', 'delivered')",
            name="status",
        ),
        Index("ix_training_sessions_catalogue", "opco_id", "status", "start_date"),
        Index("ix_training_sessions_provider", "provider_id", "start_date"),
        # Covering index of the company catalogue search: every filter and sort is read from the index
        # alone (index-only scans on PostgreSQL, covering index on SQLite); see bench/README.md.
        Index(
            "ix_training_sessions_search",
            "opco_id",
            "start_date",
            "status",
            "action_id",
            "provider_id",
            "region_code",
            "capacity_max",
            "seats_held",
            "price_cents",
            "id",
        ),
        # The same in the order of each other sort: the price, the action's title and its duration (the copies
        # below). The catalogue sorted on one of them reads its first rows in order and stops, instead of sorting
        # every visible session; every filtered column is a key, so SQLite reads the index alone too.
        Index("ix_training_sessions_by_price", "opco_id", "price_cents", *_SORTED_THEN_FILTERED),
        Index("ix_training_sessions_by_title", "opco_id", "action_title", *_SORTED_THEN_FILTERED),
        Index("ix_training_sessions_by_duration", "opco_id", "action_duration_hours", *_SORTED_THEN_FILTERED),
        # The same filters from the action's side: a search whose words match few actions reads their
        # sessions (a few thousand) and sorts them, instead of scanning the OPCO's sessions in date order
        # until enough match. Also the index of the action's foreign key.
        Index(
            "ix_training_sessions_by_action",
            "action_id",
            "start_date",
            "opco_id",
            "status",
            "provider_id",
            "region_code",
            "capacity_max",
            "seats_held",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("collective_actions.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    # Denormalised from the action so the catalogue can filter sessions without a join.
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    referencing_id: Mapped[int] = mapped_column(ForeignKey("referencings.id"), index=True)
    # Copies of the action's title and duration, so that an index orders the sessions by them (the catalogue's
    # sorts); kept equal to the action's by the events at the end of this module.
    action_title: Mapped[str] = mapped_column(String(200), server_default="")
    action_duration_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), server_default="0")
    status: Mapped[str] = mapped_column(String(30), default=SessionStatus.DRAFT)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    registration_deadline: Mapped[date] = mapped_column(Date)
    capacity_min: Mapped[int]
    capacity_max: Mapped[int]
    seats_held: Mapped[int] = mapped_column(default=0)
    is_remote: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(5), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("ref_regions.code"), index=True)
    # Link of the virtual classroom of a distance session (given in the convocation).
    connection_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    trainer_names: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    # Price per trainee HT in cents, taken from the referencing when the session is created.
    price_cents: Mapped[int]
    notes: Mapped[str] = mapped_column(String(NOTES), default="")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # Set when the session is postponed: enrolments made before it may be cancelled without penalty.
    postponed_at: Mapped[datetime | None]
    # Service fait: when the organisation closed the session (hours frozen on each enrolment), and the
    # OPCO's request for a correction, if any, which reopens it.
    delivered_at: Mapped[datetime | None]
    correction_requested_at: Mapped[datetime | None]
    correction_reason: Mapped[str | None] = mapped_column(String(500))

    action: Mapped[CollectiveAction] = relationship(lazy="joined")
    provider: Mapped[TrainingProvider] = relationship(lazy="joined")
    referencing: Mapped[Referencing] = relationship()
    region: Mapped[Region | None] = relationship(lazy="joined")
    slots: Mapped[list[SessionSlot]] = relationship(
        cascade="all, delete-orphan", order_by="(SessionSlot.day, SessionSlot.half_day)", lazy="selectin"
    )

    @property
    def status_label(self) -> str:
        return SessionStatus.LABELS[self.status]

    @property
    def seats_left_durable(self) -> int:
        return self.capacity_max - self.seats_held


class SessionSlot(db.Model):
    """A half-day of a session, with its times (the unit of attendance, "émargement par demi-journée")."""

    __tablename__ = "session_slots"
    __table_args__ = (
        UniqueConstraint("session_id", "day", "half_day"),
        CheckConstraint("half_day IN ('am', 'pm')", name="half_day"),
        CheckConstraint("end_time > start_time", name="times_order"),
        Index("ix_session_slots_day", "day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    half_day: Mapped[str] = mapped_column(String(2))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    @property
    def half_day_label(self) -> str:
        return HalfDay.LABELS[self.half_day]


# --- The action's title and duration copied on its sessions ----------------------------------------------------
# Kept by the ORM on every write, whichever service (or test) makes it: a session takes them from its action
# when it is inserted (or moved to another action), and a change of an action's title or duration updates its
# sessions in one statement. Bulk writers that bypass the ORM write them too (services.generate_sessions, the
# migration's backfill, ``flask rebuild-search``: ``copy_action_columns``).


@event.listens_for(TrainingSession, "before_insert")
@event.listens_for(TrainingSession, "before_update")
def _copy_from_action(mapper, connection, session: TrainingSession) -> None:
    state = inspect(session)
    if state.persistent and not state.attrs.action_id.history.has_changes():
        return
    action = state.dict.get("action")
    if action is None or action.id != session.action_id:
        action = connection.execute(
            select(CollectiveAction.title, CollectiveAction.duration_hours).where(
                CollectiveAction.id == session.action_id
            )
        ).one()
    session.action_title = action.title
    session.action_duration_hours = action.duration_hours


@event.listens_for(CollectiveAction, "after_update")
def _sessions_follow(mapper, connection, action: CollectiveAction) -> None:
    attrs = inspect(action).attrs
    if attrs.title.history.has_changes() or attrs.duration_hours.history.has_changes():
        connection.execute(
            update(TrainingSession.__table__)
            .where(TrainingSession.__table__.c.action_id == action.id)
            .values(action_title=action.title, action_duration_hours=action.duration_hours)
        )
        for loaded in list(object_session(action).identity_map.values()):  # the sessions already in memory
            if isinstance(loaded, TrainingSession) and inspect(loaded).dict.get("action_id") == action.id:
                set_committed_value(loaded, "action_title", action.title)
                set_committed_value(loaded, "action_duration_hours", action.duration_hours)


# PostgreSQL: a session's action decides its OPCO. Without this the planner takes the catalogue's condition « its
# action among the OPCO's listed actions » as independent of « its OPCO », expects a few per cent of the OPCO's
# sessions to pass it instead of nearly all, and sorts every visible session rather than read them in order
# from the sort's index and stop. Created with the table (and by the migration); ANALYZE fills it.
ACTION_OPCO_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS st_training_sessions_action_opco (dependencies) "
    "ON action_id, opco_id FROM training_sessions"
)
event.listen(
    TrainingSession.__table__, "after_create", DDL(ACTION_OPCO_STATISTICS).execute_if(dialect="postgresql")
)


def copy_action_columns(connection: Connection) -> int:
    """Set every session's copies of its action's title and duration where they differ (after writes that
    bypassed the ORM); one statement, no write when all are right. Returns the number of sessions changed."""
    return connection.exec_driver_sql(
        "UPDATE training_sessions SET action_title = a.title, action_duration_hours = a.duration_hours "
        "FROM collective_actions AS a WHERE a.id = training_sessions.action_id "
        "AND (training_sessions.action_title <> a.title "
        "OR training_sessions.action_duration_hours <> a.duration_hours)"
    ).rowcount
