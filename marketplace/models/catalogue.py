"""An OPCO's catalogue: collective actions, their eligibility and funding rules, and referencings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.limits import LONG_TEXT
from marketplace.models.organisation import Opco, TrainingProvider
from marketplace.models.reference import Region, Theme


class ActionStatus:
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    LABELS = {DRAFT: "Brouillon", PUBLISHED: "Publiée", ARCHIVED: "Archivée"}


class Modality:
    ONSITE = "presentiel"
    REMOTE = "distanciel"
    BLENDED = "mixte"
    LABELS = {ONSITE: "Présentiel", REMOTE: "Distanciel", BLENDED: "Mixte"}


def new_lists_version() -> int:
    """A fresh ``CollectiveAction.lists_version``: random rather than counted, so that no two actions share one,
    even with the same id in two databases or an id reused after a deletion (SQLite)."""
    return secrets.randbits(62)


class CollectiveAction(CreatedAtMixin, db.Model):
    """A training offer negotiated and funded by an OPCO for the companies of some of its branches."""

    __tablename__ = "collective_actions"
    __table_args__ = (
        UniqueConstraint("opco_id", "reference"),
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("modality IN ('presentiel', 'distanciel', 'mixte')", name="modality"),
        CheckConstraint("duration_hours > 0", name="duration_positive"),
        CheckConstraint("price_cents >= 0", name="price_positive"),
        CheckConstraint("cancellation_days >= 0", name="cancellation_days_positive"),
        CheckConstraint("funding_basis IN ('ht', 'ttc')", name="funding_basis"),
        Index("ix_collective_actions_opco_status", "opco_id", "status"),
        # The company catalogue's published actions of an OPCO with what its filters and sorts read, from the
        # index alone on PostgreSQL (services/search.py; see bench/README.md).
        Index(
            "ix_collective_actions_listing",
            "opco_id",
            "status",
            "id",
            postgresql_include=["theme_code", "modality", "duration_hours", "title"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    objectives: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    programme: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    prerequisites: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    # How what was learnt is assessed (L6353-8 convocation, L6353-1 attestation de fin de formation).
    assessment_method: Mapped[str] = mapped_column(String(LONG_TEXT), default="", server_default="")
    target_public: Mapped[str] = mapped_column(String(LONG_TEXT), default="")
    theme_code: Mapped[str] = mapped_column(ForeignKey("ref_themes.code"))
    modality: Mapped[str] = mapped_column(String(20))
    duration_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    campaign_year: Mapped[int]
    is_national: Mapped[bool] = mapped_column(default=True)
    # Funding rules. Price is the negotiated ceiling per trainee, HT, in cents; a referencing may be lower.
    price_cents: Mapped[int]
    cap_per_company_per_session: Mapped[int | None]
    cap_per_company_per_year: Mapped[int | None]
    cancellation_days: Mapped[int] = mapped_column(default=10)  # jours ouvrés before the first slot
    # HT or TTC price as the base of the funded share; None: the OPCO's rule (Opco.funding_basis).
    funding_basis: Mapped[str | None] = mapped_column(String(3))
    requires_approval: Mapped[bool] = mapped_column(default=False)
    # Money: the OPCO's funding flow for this action (null: the OPCO's setting), and the indemnité de dédit
    # charged to the company for a late cancellation or an unjustified absence, as a share of the price HT
    # (null or 0: none); frozen on each enrolment.
    funding_flow: Mapped[str | None] = mapped_column(String(20))
    dedit_rate_pct: Mapped[int | None]
    # The budget envelope the action draws on (services.budgets); none: no budget rule.
    envelope_id: Mapped[int | None] = mapped_column(
        ForeignKey("budget_envelopes.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ActionStatus.DRAFT)
    # Lower-cased title + objectives + reference, for the catalogue search (portable LIKE search).
    search_text: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[date | None] = mapped_column(Date)
    # Changed with every change of the branches, regions or funding shares (services.action_lists): the key
    # under which a process keeps those lists, read with the action's row.
    lists_version: Mapped[int] = mapped_column(BigInteger, default=new_lists_version, server_default="0")

    opco: Mapped[Opco] = relationship()
    theme: Mapped[Theme] = relationship(lazy="joined")
    branches: Mapped[list[ActionBranch]] = relationship(
        cascade="all, delete-orphan", order_by="ActionBranch.idcc", lazy="selectin"
    )
    regions: Mapped[list[ActionRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    funding_shares: Mapped[list[FundingShare]] = relationship(
        cascade="all, delete-orphan", order_by="FundingShare.size_band", lazy="selectin"
    )

    # The lists as the eligibility chain and the funding figures read them: from the loaded collections, else
    # from the copy kept by the process when the request attached it (services.action_lists), else loaded.

    def _kept(self, collection: str) -> ActionLists | None:
        """The kept copy, only while this instance's ``lists_version`` is loaded and is the copy's (after a
        commit or a change of the lists, the collections are read instead)."""
        kept = None if collection in self.__dict__ else self.__dict__.get("kept_lists")
        return kept if kept is not None and kept.version == self.__dict__.get("lists_version") else None

    @property
    def idcc_codes(self) -> list[str]:
        kept = self._kept("branches")
        return list(kept.idcc_codes) if kept else [b.idcc for b in self.branches]

    @property
    def region_codes(self) -> list[str]:
        kept = self._kept("regions")
        return [code for code, _ in kept.regions] if kept else [r.region_code for r in self.regions]

    @property
    def region_names(self) -> list[str]:
        kept = self._kept("regions")
        return [name for _, name in kept.regions] if kept else [r.region.name for r in self.regions]

    def share_for(self, size_band: str) -> int | None:
        """Percentage funded by the OPCO for a size band; None when that band is not eligible."""
        kept = self._kept("funding_shares")
        if kept:
            return kept.shares.get(size_band)
        for share in self.funding_shares:
            if share.size_band == size_band:
                return share.percent
        return None


@dataclass(frozen=True)
class ActionLists:
    """An action's branches, regions (code, name) and funding shares (size band → percent) as plain values,
    as of ``version`` (its ``lists_version``)."""

    version: int
    idcc_codes: tuple[str, ...]
    regions: tuple[tuple[str, str], ...]
    shares: dict[str, int]


class ActionBranch(db.Model):
    """An IDCC branch whose companies may enrol on the action."""

    __tablename__ = "action_branches"
    __table_args__ = (UniqueConstraint("action_id", "idcc"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("collective_actions.id", ondelete="CASCADE"), index=True
    )
    idcc: Mapped[str] = mapped_column(ForeignKey("ref_idcc.idcc"))


class ActionRegion(db.Model):
    """A region the action is open in, when it is not national."""

    __tablename__ = "action_regions"
    __table_args__ = (UniqueConstraint("action_id", "region_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("collective_actions.id", ondelete="CASCADE"), index=True
    )
    region_code: Mapped[str] = mapped_column(ForeignKey("ref_regions.code"))
    region: Mapped[Region] = relationship(lazy="joined")


class FundingShare(db.Model):
    """Share of the price funded by the OPCO for one company size band (no row: band not eligible)."""

    __tablename__ = "funding_shares"
    __table_args__ = (
        UniqueConstraint("action_id", "size_band"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("collective_actions.id", ondelete="CASCADE"), index=True
    )
    size_band: Mapped[str] = mapped_column(String(10))
    percent: Mapped[int]


class ReferencingStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    LABELS = {ACTIVE: "Actif", SUSPENDED: "Suspendu", WITHDRAWN: "Retiré"}


class Referencing(CreatedAtMixin, db.Model):
    """A training organisation selected by the OPCO to deliver an action, for a period, at a negotiated price."""

    __tablename__ = "referencings"
    __table_args__ = (
        UniqueConstraint("action_id", "provider_id"),
        CheckConstraint("valid_until >= valid_from", name="period"),
        CheckConstraint("price_cents >= 0", name="price_positive"),
        CheckConstraint("status IN ('active', 'suspended', 'withdrawn')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("collective_actions.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    price_cents: Mapped[int]
    # How the organisation invoices the OPCO (services.invoicing): « per_trainee » (price per trainee prorated
    # by the hours done), « per_hour » (hours done × hourly rate) or « group » (a group price, due in full when
    # the trainee-hours done reach the threshold, prorated below it).
    pricing_mode: Mapped[str] = mapped_column(String(20), default="per_trainee", server_default="per_trainee")
    hourly_rate_cents: Mapped[int | None]
    group_price_cents: Mapped[int | None]
    group_threshold_pct: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default=ReferencingStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    # Suspended automatically because the organisation's Qualiopi certificate lapsed (not by the OPCO): a
    # renewed certificate reactivates it (services.qualiopi.renew_qualiopi).
    suspended_for_qualiopi: Mapped[bool] = mapped_column(default=False, server_default=false())

    action: Mapped[CollectiveAction] = relationship(lazy="joined")
    provider: Mapped[TrainingProvider] = relationship(lazy="joined")

    def is_valid_on(self, day: date) -> bool:
        return self.status == ReferencingStatus.ACTIVE and self.valid_from <= day <= self.valid_until


__all__ = [
    "ActionBranch",
    "ActionLists",
    "ActionRegion",
    "ActionStatus",
    "CollectiveAction",
    "FundingShare",
    "Modality",
    "Referencing",
    "ReferencingStatus",
    "utcnow",
]
