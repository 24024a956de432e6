"""An OPCO's budget envelopes and the ledger of every amount moved on them (issue #10, item 4).

An envelope is the money an OPCO sets aside for one year and one fund, optionally for one branch (IDCC) and
one region; each collective action draws on at most one envelope. Its figures are nested, like a public
budget's « engagé / réalisé / payé »: ``committed_cents`` (what is promised to confirmed seats, including what
was realised) ≥ ``realised_cents`` (service fait, from the hours done) ≥ ``paid_cents``. They are running
totals changed only by services.budgets under the envelope's row lock, and every change writes one
``BudgetMovement``: summing the ledger gives the figures back, so each euro is traceable to an enrolment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.limits import REASON, TITLE


class Fund:
    LEGAL = "legal"
    CONVENTIONAL = "conventional"
    VOLUNTARY = "voluntary"
    COFUNDING = "cofunding"
    LABELS = {
        LEGAL: "Fonds légaux (entreprises de moins de 50 salariés)",
        CONVENTIONAL: "Fonds conventionnels de branche",
        VOLUNTARY: "Versements volontaires",
        COFUNDING: "Cofinancements (FSE, Région, État)",
    }


class WhenExhausted:
    """What an enrolment gets once the envelope has no room left for its funded share (the OPCO chooses)."""

    REFUSE = "refuse"
    APPROVAL = "approval"
    ALLOW = "allow"
    LABELS = {
        REFUSE: "Refuser les nouvelles inscriptions",
        APPROVAL: "Accepter « sous réserve des fonds disponibles » (validation par l'OPCO)",
        ALLOW: "Accepter au-delà du montant alloué",
    }


class MovementKind:
    COMMITTED = "committed"  # + committed (a seat confirmed)
    RELEASED = "released"  # − committed (cancellation, refusal, absence, the unrealised rest at closing)
    REALISED = "realised"  # + realised (service fait; negative to correct: reopening, credit note)
    PAID = "paid"  # + paid (the OPCO paid the invoice; negative to correct)
    LABELS = {COMMITTED: "Engagé", RELEASED: "Libéré", REALISED: "Réalisé", PAID: "Payé"}


class BudgetEnvelope(CreatedAtMixin, db.Model):
    __tablename__ = "budget_envelopes"
    __table_args__ = (
        CheckConstraint("allotted_cents >= 0", name="allotted_positive"),
        CheckConstraint("fund IN ('legal', 'conventional', 'voluntary', 'cofunding')", name="fund_known"),
        CheckConstraint("when_exhausted IN ('refuse', 'approval', 'allow')", name="when_exhausted_known"),
        CheckConstraint(
            "committed_cents >= realised_cents AND realised_cents >= paid_cents AND paid_cents >= 0",
            name="figures_nested",
        ),
        Index("ix_budget_envelopes_opco_year", "opco_id", "year", "fund"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    year: Mapped[int]
    fund: Mapped[str] = mapped_column(String(20))
    idcc: Mapped[str | None] = mapped_column(ForeignKey("ref_idcc.idcc"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("ref_regions.code"))
    label: Mapped[str] = mapped_column(String(TITLE))
    allotted_cents: Mapped[int]
    committed_cents: Mapped[int] = mapped_column(default=0)
    realised_cents: Mapped[int] = mapped_column(default=0)
    paid_cents: Mapped[int] = mapped_column(default=0)
    # Alert thresholds in % of the allotted amount ("80,90,100"), and the highest one already emailed.
    thresholds: Mapped[str] = mapped_column(String(40), default="80,90,100")
    alerted_pct: Mapped[int] = mapped_column(default=0)
    when_exhausted: Mapped[str] = mapped_column(String(10), default=WhenExhausted.REFUSE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def fund_label(self) -> str:
        return Fund.LABELS.get(self.fund, self.fund)

    @property
    def room_cents(self) -> int:
        return self.allotted_cents - self.committed_cents

    @property
    def threshold_list(self) -> list[int]:
        return sorted({int(t) for t in self.thresholds.split(",") if t.strip().isdigit()})

    def pct(self, cents: int) -> int:
        """Share of the allotted amount, in whole % (floored; 0 allotted counts as full once used)."""
        if self.allotted_cents <= 0:
            return 100 if cents > 0 else 0
        return cents * 100 // self.allotted_cents


class BudgetMovement(db.Model):
    """One amount moved on an envelope, with the enrolment (or invoice) it comes from and why."""

    __tablename__ = "budget_movements"
    __table_args__ = (
        CheckConstraint("kind IN ('committed', 'released', 'realised', 'paid')", name="kind_known"),
        Index("ix_budget_movements_envelope", "envelope_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    envelope_id: Mapped[int] = mapped_column(ForeignKey("budget_envelopes.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="SET NULL"), index=True
    )
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))
    cents: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(REASON))

    envelope: Mapped[BudgetEnvelope] = relationship()

    @property
    def kind_label(self) -> str:
        return MovementKind.LABELS.get(self.kind, self.kind)
