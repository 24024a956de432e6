"""Enrolment ("inscription") of one employee of a company on one session."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.employee import Employee
from marketplace.models.organisation import Company
from marketplace.models.training_session import TrainingSession
from marketplace.models.user import User


class EnrolmentStatus:
    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    OFFER_DECLINED = "offer_declined"
    OFFER_EXPIRED = "offer_expired"
    SESSION_CANCELLED = "session_cancelled"
    # The session started before a seat freed up: the waiting list (and any offer still open) ends there.
    WAITLIST_CLOSED = "waitlist_closed"
    # After confirmation (state machine A): convocation, training, outcome, closing at service fait.
    CONVOKED = "convoked"
    IN_TRAINING = "in_training"
    ATTENDED = "attended"
    PARTIALLY_ATTENDED = "partially_attended"
    ABSENT_EXCUSED = "absent_excused"
    ABSENT = "absent"
    ABANDONED = "abandoned"
    CLOSED = "closed"
    LABELS = {
        PENDING_APPROVAL: "En attente de validation de l'OPCO",
        CONFIRMED: "Confirmée",
        WAITLISTED: "Liste d'attente",
        OFFERED: "Place proposée",
        REFUSED: "Refusée",
        CANCELLED: "Annulée par l'entreprise",
        OFFER_DECLINED: "Place déclinée",
        OFFER_EXPIRED: "Proposition expirée",
        SESSION_CANCELLED: "Session annulée",
        WAITLIST_CLOSED: "Liste d'attente close (session commencée)",
        CONVOKED: "Convoqué(e)",
        IN_TRAINING: "En formation",
        ATTENDED: "Réalisée (totale)",
        PARTIALLY_ATTENDED: "Réalisée (partielle)",
        ABSENT_EXCUSED: "Absent(e) – absence justifiée",
        ABSENT: "Absent(e) – absence non justifiée",
        ABANDONED: "Abandon",
        CLOSED: "Clôturée",
    }
    # What the trainee's attendance says at the end of the session, before closing (service fait).
    OUTCOMES = (ATTENDED, PARTIALLY_ATTENDED, ABSENT_EXCUSED, ABSENT, ABANDONED)
    # Expected at the session, or went: on the attendance sheet, convoked, given documents.
    TRAINEES = (CONFIRMED, CONVOKED, IN_TRAINING, *OUTCOMES, CLOSED)
    # Hold a seat durably: counted in TrainingSession.seats_held (a trainee who went keeps the seat).
    SEAT_HOLDING = (PENDING_APPROVAL, *TRAINEES)
    # Before the session: the company may still cancel; cancelling the session cancels these.
    ACTIVE = (PENDING_APPROVAL, CONFIRMED, WAITLISTED, OFFERED, CONVOKED)
    # Not history: the same employee cannot be enrolled twice on a session in these states, and is busy on
    # its half-days.
    LIVE = (PENDING_APPROVAL, WAITLISTED, OFFERED, *TRAINEES)


def _param(context, name: str) -> int:
    """A value of the row being inserted (context-sensitive default), 0 when not given."""
    return context.get_current_parameters().get(name) or 0


_LIVE_SQL = "status NOT IN ('refused', 'cancelled', 'offer_declined', 'offer_expired', 'session_cancelled', 'waitlist_closed')"


class Enrolment(CreatedAtMixin, db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_approval', 'confirmed', 'waitlisted', 'offered', 'refused', 'cancelled', "
            "'offer_declined', 'offer_expired', 'session_cancelled', 'convoked', 'in_training', 'attended', "
            "'partially_attended', 'absent_excused', 'absent', 'abandoned', 'closed', 'waitlist_closed')",
            name="status",
        ),
        CheckConstraint("funded_cents + remainder_cents = price_cents", name="funding_adds_up"),
        CheckConstraint("price_cents + vat_cents = price_ttc_cents", name="ttc_adds_up"),
        CheckConstraint("opco_amount_cents + remainder_ttc_cents = price_ttc_cents", name="payers_add_up"),
        CheckConstraint("funding_basis IN ('ht', 'ttc')", name="funding_basis"),
        CheckConstraint(
            "attended_minutes IS NULL OR (attended_minutes >= 0 AND attended_minutes <= planned_minutes)",
            name="attended_within_planned",
        ),
        # One live enrolment per employee and session; history rows (cancelled, refused…) may repeat.
        Index(
            "uq_enrolments_active_employee",
            "session_id",
            "employee_id",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        Index("ix_enrolments_session_status", "session_id", "status"),
        Index("ix_enrolments_company_status", "company_id", "status"),
        Index("ix_enrolments_employee", "employee_id"),
        Index("ix_enrolments_provider", "provider_id", "status"),
        Index("ix_enrolments_opco_status", "opco_id", "status"),
        # The OPCO's live waiting-list offers, read by the catalogue's « places disponibles » filter without
        # visiting the enrolments themselves.
        Index(
            "ix_enrolments_live_offers",
            "opco_id",
            "offer_expires_at",
            "session_id",
            sqlite_where=text("status = 'offered'"),
            postgresql_where=text("status = 'offered'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    # Denormalised so each tenant's lists filter on an indexed column of their own.
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30))
    # Funding figures frozen at enrolment time (HT, cents): price = funded + remainder.
    price_cents: Mapped[int]
    funded_cents: Mapped[int]
    remainder_cents: Mapped[int]
    # …and with VAT (services.funding): the rate of the place of delivery, the OPCO's basis (HT or TTC price),
    # what the OPCO pays and what the company pays, TTC. Rows written without them have no VAT.
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(0))
    vat_cents: Mapped[int] = mapped_column(default=0)
    price_ttc_cents: Mapped[int] = mapped_column(
        default=lambda ctx: _param(ctx, "price_cents") + _param(ctx, "vat_cents")
    )
    funding_basis: Mapped[str] = mapped_column(String(3), default="ht")
    opco_amount_cents: Mapped[int] = mapped_column(default=lambda ctx: _param(ctx, "funded_cents"))
    remainder_ttc_cents: Mapped[int] = mapped_column(
        default=lambda ctx: (
            _param(ctx, "price_cents")
            + _param(ctx, "vat_cents")
            - (
                _param(ctx, "opco_amount_cents")
                if "opco_amount_cents" in ctx.get_current_parameters()
                else _param(ctx, "funded_cents")
            )
        )
    )
    size_band: Mapped[str] = mapped_column(String(10))
    # Rules that applied when the enrolment was made, so later changes to the action are not retroactive:
    # the notice period of free cancellation (jours ouvrés; null on rows made before it was frozen: the
    # action's) and the company caps.
    cancellation_days: Mapped[int | None]
    cap_per_session: Mapped[int | None]
    cap_per_year: Mapped[int | None]
    # Indemnité de dédit (share of the price HT) the company owes for a late cancellation or an unjustified
    # absence, frozen from the action; never charged to the OPCO (L6354-1).
    dedit_rate_pct: Mapped[int | None]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Waiting-list order: first come, first offered.
    waitlisted_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    is_late_cancellation: Mapped[bool] = mapped_column(default=False)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # Delivery: when the convocation was last sent; at closing (service fait) the outcome and the minutes
    # planned and attended are frozen here — invoices and certificates read them, never the live attendance.
    convoked_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(30))
    planned_minutes: Mapped[int | None]
    attended_minutes: Mapped[int | None]
    closed_at: Mapped[datetime | None]
    # Budget (services.budgets): the envelope the seat draws on, frozen at enrolment, and what this enrolment
    # has on it now — committed (the OPCO's share while the seat is confirmed; what was realised after
    # closing), realised at service fait, paid by the OPCO.
    envelope_id: Mapped[int | None] = mapped_column(
        ForeignKey("budget_envelopes.id", ondelete="SET NULL"), index=True
    )
    budget_committed_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    budget_realised_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    budget_paid_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship(lazy="joined")
    company: Mapped[Company] = relationship(foreign_keys=[company_id])
    employee: Mapped[Employee] = relationship(lazy="joined")
    requested_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return EnrolmentStatus.LABELS[self.status]

    @property
    def is_live(self) -> bool:
        """Not history: its funding figures (prise en charge, reste à charge) apply."""
        return self.status in EnrolmentStatus.LIVE

    @property
    def is_active(self) -> bool:
        """Before the session: the company may still cancel or replace the trainee."""
        return self.status in EnrolmentStatus.ACTIVE

    @property
    def outcome_label(self) -> str | None:
        return EnrolmentStatus.LABELS.get(self.outcome) if self.outcome else None

    def offer_is_live(self, now: datetime) -> bool:
        return (
            self.status == EnrolmentStatus.OFFERED
            and self.offer_expires_at is not None
            and self.offer_expires_at > now
        )
