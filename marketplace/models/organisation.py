"""Organisations are the tenants: OPCO, member company or training organisation (joined-table inheritance).

The common part (name, slug, kind) lives in ``organisations``; each kind keeps its typed data in its own
table, so a company's SIRET or a provider's NDA are real, constrained columns.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin
from marketplace.services.text import search_key


class OrgKind:
    OPCO = "opco"
    COMPANY = "company"
    PROVIDER = "provider"
    ALL = (OPCO, COMPANY, PROVIDER)
    LABELS = {OPCO: "OPCO", COMPANY: "Entreprise adhérente", PROVIDER: "Organisme de formation"}


class Organisation(CreatedAtMixin, db.Model):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("kind IN ('opco', 'company', 'provider')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # The name lower-cased and accent-free, searched through an index (services.search_index); set with name.
    search_name: Mapped[str] = mapped_column(Text, default="", server_default="")

    memberships: Mapped[list[Membership]] = relationship(  # noqa: F821
        back_populates="organisation", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "organisation"}

    @property
    def kind_label(self) -> str:
        return OrgKind.LABELS[self.kind]

    @validates("name")
    def _keep_search_name(self, key: str, value: str) -> str:
        self.search_name = search_key(value or "")
        return value


class Opco(Organisation):
    """An OPCO on the platform, created by the platform operator from the reference list."""

    __tablename__ = "opcos"
    __table_args__ = (CheckConstraint("funding_basis IN ('ht', 'ttc')", name="funding_basis"),)
    id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("ref_opcos.code"), unique=True)
    # How long a company has to accept a seat offered from the waiting list.
    waitlist_offer_hours: Mapped[int] = mapped_column(default=48, server_default="48")
    # Whether the funded share applies to the HT or the TTC price (services.funding); an action may override.
    funding_basis: Mapped[str] = mapped_column(String(3), default="ht", server_default="ht")
    # Convocations go out this many calendar days before a session starts (at once for a later enrolment).
    convocation_days: Mapped[int] = mapped_column(default=21, server_default="21")
    # Proofs of delivery (attendance, certificates) are kept this many years after the session's end.
    retention_years: Mapped[int] = mapped_column(default=6, server_default="6")
    # Money (services.invoicing): how the OPCO pays its share — « subrogation » (the company's invoice paid by
    # the OPCO in its name) or « achat direct » (the OPCO buys the training) — an action may override it; the
    # share of invoices drawn for manual control (R6332-26), the rest only checked automatically.
    funding_flow: Mapped[str] = mapped_column(String(20), default="subrogation", server_default="subrogation")
    control_sampling_pct: Mapped[int] = mapped_column(default=10, server_default="10")
    # The OPCO's own account, debited by its SEPA credit transfers to training organisations (services.payments).
    payer_iban: Mapped[str | None] = mapped_column(String(34))
    payer_bic: Mapped[str | None] = mapped_column(String(11))
    payer_account_holder: Mapped[str | None] = mapped_column(String(70))
    # Its identity as the buyer on the invoices addressed to it (L441-9 C. com.: SIRET, address, VAT number).
    siret: Mapped[str] = mapped_column(String(14), default="", server_default="")
    billing_address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    billing_postal_code: Mapped[str] = mapped_column(String(5), default="", server_default="")
    billing_city: Mapped[str] = mapped_column(String(120), default="", server_default="")
    vat_number: Mapped[str] = mapped_column(String(20), default="", server_default="")

    branches: Mapped[list[OpcoBranch]] = relationship(
        back_populates="opco", cascade="all, delete-orphan", order_by="OpcoBranch.idcc"
    )
    __mapper_args__ = {"polymorphic_identity": "opco", "polymorphic_load": "inline"}

    @property
    def idcc_codes(self) -> list[str]:
        return [b.idcc for b in self.branches]


class OpcoBranch(db.Model):
    """An IDCC branch covered by an OPCO on the platform (an IDCC belongs to at most one OPCO)."""

    __tablename__ = "opco_branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"), index=True)
    idcc: Mapped[str] = mapped_column(ForeignKey("ref_idcc.idcc"), unique=True)

    opco: Mapped[Opco] = relationship(back_populates="branches")
    branch: Mapped["IdccBranch"] = relationship(lazy="joined")  # noqa: F821, UP037


def _last_year() -> int:
    """Default year of a headcount: the year before the current one (Paris date)."""
    from marketplace.formatting import paris_today

    return paris_today().year - 1


class Company(Organisation):
    """A member company ("entreprise adhérente"), attached to an OPCO through its IDCC."""

    __tablename__ = "companies"
    __table_args__ = (CheckConstraint("headcount >= 0", name="headcount_positive"),)

    id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    ape_code: Mapped[str] = mapped_column(String(5))
    idcc: Mapped[str] = mapped_column(String(4), index=True)
    headcount: Mapped[int] = mapped_column(Integer)
    # The headcount is the annual average of a year (« effectif moyen annuel de l'année N-1 »): that year.
    headcount_year: Mapped[int] = mapped_column(Integer, default=_last_year)
    # Intra-community VAT number, shown on the invoices it receives (may be empty).
    vat_number: Mapped[str] = mapped_column(String(20), default="", server_default="")
    region_code: Mapped[str] = mapped_column(ForeignKey("ref_regions.code"))
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(120))
    # Derived from the IDCC at sign-up (and when an OPCO covering it joins); null while none covers it.
    opco_id: Mapped[int | None] = mapped_column(ForeignKey("opcos.id"), index=True)
    # An IDCC the reference table does not map (or 9999, « sans convention »): the OPCO the company states,
    # until the platform operator confirms it (opco_confirmed_at); it cannot enrol before.
    declared_opco_code: Mapped[str | None] = mapped_column(ForeignKey("ref_opcos.code"))
    opco_confirmed_at: Mapped[datetime | None]

    opco: Mapped[Opco | None] = relationship(foreign_keys=[opco_id])
    declared_opco: Mapped["OpcoReference | None"] = relationship()  # noqa: F821, UP037
    region: Mapped["Region"] = relationship(lazy="joined")  # noqa: F821, UP037

    __mapper_args__ = {"polymorphic_identity": "company", "polymorphic_load": "inline"}

    @property
    def size_band(self) -> str:
        from marketplace.services.identifiers import size_band

        return size_band(self.headcount)


class TrainingProvider(Organisation):
    """A training organisation ("organisme de formation", OF) with its NDA and Qualiopi certificate."""

    __tablename__ = "training_providers"
    __table_args__ = (
        CheckConstraint("vat_regime IN ('exonere', 'franchise', 'assujetti')", name="vat_regime"),
        UniqueConstraint("nda", name="uq_training_providers_nda"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    nda: Mapped[str] = mapped_column(String(11))
    vat_regime: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(ForeignKey("ref_regions.code"))
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(120))
    qualiopi_certifier: Mapped[str] = mapped_column(String(120))
    qualiopi_number: Mapped[str] = mapped_column(String(40))
    # Space-separated category codes (see services.identifiers.QUALIOPI_CATEGORIES).
    qualiopi_categories: Mapped[str] = mapped_column(String(200))
    qualiopi_issued_on: Mapped[date] = mapped_column(Date)
    qualiopi_expires_on: Mapped[date] = mapped_column(Date)
    # The certificate's PDF (services.storage key and original name), given when the certificate is renewed.
    qualiopi_document_key: Mapped[str | None] = mapped_column(String(200))
    qualiopi_document_name: Mapped[str | None] = mapped_column(String(200))
    # What convocations and certificates must carry (L6353-8, ministry model of the certificat de
    # réalisation): the disability referent's contact, the règlement intérieur (L6352-3) and the signatory.
    disability_referent: Mapped[str] = mapped_column(String(200), default="", server_default="")
    disability_referent_contact: Mapped[str] = mapped_column(String(300), default="", server_default="")
    internal_rules: Mapped[str] = mapped_column(String(10_000), default="", server_default="")
    signatory_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    signatory_title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Invoicing: intra-community VAT number (may be empty when exempt), and the bank account the OPCO pays to
    # (IBAN/BIC checked with schwifty; a change waits for the confirmation sent by email, then is audited).
    vat_number: Mapped[str] = mapped_column(String(20), default="", server_default="")
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    account_holder: Mapped[str | None] = mapped_column(String(200))
    pending_iban: Mapped[str | None] = mapped_column(String(34))
    pending_bic: Mapped[str | None] = mapped_column(String(11))
    pending_account_holder: Mapped[str | None] = mapped_column(String(200))
    pending_bank_token_hash: Mapped[str | None] = mapped_column(String(64))
    pending_bank_expires_at: Mapped[datetime | None]
    bank_changed_at: Mapped[datetime | None]

    region: Mapped["Region"] = relationship(lazy="joined")  # noqa: F821, UP037

    __mapper_args__ = {"polymorphic_identity": "provider", "polymorphic_load": "inline"}

    @property
    def qualiopi_category_list(self) -> list[str]:
        return self.qualiopi_categories.split()
