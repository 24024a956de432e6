"""Invoices a training organisation issues from a closed session (service fait), their lines, credit notes,
the gap-free numbering and the OPCO's payment batches (state machine D of the domain research).

An invoice is a draft until issued; issuing gives it its number (``InvoiceSequence``, taken under the row lock
of the organisation × year: no gap, no duplicate), freezes the parties' identities and the legal mentions on
the row, and stores its PDF with its SHA-256. Nothing of an issued invoice is edited afterwards: a correction
is a credit note (``kind = credit_note``, ``credited_invoice_id``) and, if needed, a new invoice. Every amount
is integer cents; each line says which enrolment and how many minutes done it charges, so an amount can be
traced back to signed half-days and to the figures frozen on the enrolment.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow


class InvoiceStatus:
    DRAFT = "draft"
    ISSUED = "issued"
    IN_CONTROL = "in_control"
    INFO_REQUESTED = "info_requested"
    VALIDATED = "validated"
    PAYMENT_PENDING = "payment_pending"  # a company's card payment awaiting Stripe's answer
    PAID = "paid"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # cancelled in full by a credit note
    LABELS = {
        DRAFT: "Brouillon",
        ISSUED: "Émise",
        IN_CONTROL: "En contrôle",
        INFO_REQUESTED: "Compléments demandés",
        VALIDATED: "Validée (bon à payer)",
        PAYMENT_PENDING: "Paiement en cours",
        PAID: "Payée",
        REJECTED: "Rejetée",
        CANCELLED: "Annulée par avoir",
    }
    # Issued and still owed by its payer.
    OPEN = (ISSUED, IN_CONTROL, INFO_REQUESTED, VALIDATED, PAYMENT_PENDING)


class PaymentMeans:
    CARD = "card"
    TRANSFER = "transfer"
    SEPA_BATCH = "sepa_batch"
    LABELS = {CARD: "carte bancaire", TRANSFER: "virement bancaire", SEPA_BATCH: "virement SEPA de l'OPCO"}


class InvoiceKind:
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    LABELS = {INVOICE: "Facture", CREDIT_NOTE: "Avoir"}


class Payer:
    OPCO = "opco"  # the OPCO's share, paid directly to the organisation (subrogation / achat direct)
    COMPANY = "company"  # the company's remainder, and any indemnité de dédit (never charged to the OPCO)
    LABELS = {OPCO: "OPCO", COMPANY: "Entreprise"}


class LineKind:
    TRAINING = "training"  # hours done × hourly rate, or price per trainee prorated, or a group price
    DEDIT = "dedit"  # indemnité de dédit: late cancellation or unjustified absence (L6354-1: not the OPCO's)
    LABELS = {TRAINING: "Formation", DEDIT: "Indemnité de dédit"}


class Invoice(CreatedAtMixin, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'issued', 'in_control', 'info_requested', 'validated', 'payment_pending', "
            "'paid', 'rejected', 'cancelled')",
            name="status",
        ),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
        CheckConstraint("payer IN ('opco', 'company')", name="payer"),
        CheckConstraint("total_ht_cents + vat_cents = total_ttc_cents", name="totals_add_up"),
        CheckConstraint("payer = 'opco' OR company_id IS NOT NULL", name="company_payer_named"),
        CheckConstraint("kind = 'invoice' OR credited_invoice_id IS NOT NULL", name="credit_note_target"),
        UniqueConstraint("provider_id", "number", name="uq_invoices_provider_number"),
        Index("ix_invoices_provider_status", "provider_id", "status"),
        Index("ix_invoices_opco_status", "opco_id", "payer", "status"),
        Index("ix_invoices_company_status", "company_id", "status"),
        Index("ix_invoices_session", "session_id"),
        Index("ix_invoices_batch", "payment_batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=InvoiceKind.INVOICE)
    payer: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=InvoiceStatus.DRAFT)
    # Tenant columns: the issuer, the OPCO funding the session (it controls and pays the OPCO's invoices), the
    # company paying (its remainder) — each reads only what names it.
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    # Numbering (set when issued): « F-2027-000042 » per organisation and year, without gaps.
    number: Mapped[str | None] = mapped_column(String(30))
    year: Mapped[int | None]
    sequence: Mapped[int | None]
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    # Totals, integer cents (TTC = HT + VAT; a credit note's amounts are positive, its kind says it).
    total_ht_cents: Mapped[int] = mapped_column(default=0)
    vat_cents: Mapped[int] = mapped_column(default=0)
    total_ttc_cents: Mapped[int] = mapped_column(default=0)
    # Frozen at issue: the parties and the mentions the law requires (L441-9 C. com., CGI ann. II 242 nonies A).
    funding_flow: Mapped[str] = mapped_column(String(20), default="subrogation")
    seller_name: Mapped[str] = mapped_column(String(200), default="")
    seller_address: Mapped[str] = mapped_column(String(500), default="")
    seller_siret: Mapped[str] = mapped_column(String(14), default="")
    seller_vat_number: Mapped[str] = mapped_column(String(20), default="")
    seller_nda: Mapped[str] = mapped_column(String(11), default="")
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    buyer_address: Mapped[str] = mapped_column(String(500), default="")
    buyer_siret: Mapped[str] = mapped_column(String(14), default="")
    buyer_vat_number: Mapped[str] = mapped_column(String(20), default="")
    order_reference: Mapped[str] = mapped_column(String(100), default="")  # action / session / dossier
    vat_mention: Mapped[str] = mapped_column(String(200), default="")  # exemption wording when no VAT
    payment_days: Mapped[int] = mapped_column(default=30)
    late_penalty_text: Mapped[str] = mapped_column(String(300), default="")
    recovery_fee_cents: Mapped[int] = mapped_column(default=4000)  # D441-5: 40 € indemnité forfaitaire
    # OPCO control (R6332-26): sampled for manual control, documents asked with a deadline, validated amount
    # (possibly adjusted, with its reason), rejection reason.
    sampled: Mapped[bool] = mapped_column(default=False)
    info_request: Mapped[str | None] = mapped_column(String(2000))
    info_deadline: Mapped[date | None] = mapped_column(Date)
    validated_cents: Mapped[int | None]
    adjustment_reason: Mapped[str | None] = mapped_column(String(500))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    # Payment.
    payment_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_batches.id", ondelete="SET NULL")
    )
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    # How a company's invoice was paid (PaymentMeans.LABELS) and its receipt: the PDF marked « acquittée »,
    # a new document stored once with its hash (the issued invoice's PDF is never touched).
    payment_means: Mapped[str | None] = mapped_column(String(20))
    receipt_storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    # The issued PDF (Factur-X), stored once with its hash.
    storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceLine.position", lazy="selectin"
    )

    @property
    def status_label(self) -> str:
        return InvoiceStatus.LABELS[self.status]

    @property
    def kind_label(self) -> str:
        return InvoiceKind.LABELS[self.kind]


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('training', 'dedit')", name="kind"),
        CheckConstraint("amount_ht_cents >= 0 AND vat_cents >= 0", name="amounts_positive"),
        Index("ix_invoice_lines_enrolment", "enrolment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20), default=LineKind.TRAINING)
    # The trainee charged (null for a group price line), and the hours behind the amount (frozen at closing).
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit: Mapped[str] = mapped_column(String(20))  # « heure », « stagiaire », « forfait »
    unit_price_cents: Mapped[int]
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(0))
    amount_ht_cents: Mapped[int]
    vat_cents: Mapped[int] = mapped_column(default=0)
    minutes_planned: Mapped[int | None]
    minutes_done: Mapped[int | None]


class InvoiceSequence(db.Model):
    """Last number used by an organisation in a year: locked (``locking.lock_row``-style) while issuing."""

    __tablename__ = "invoice_sequences"
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class PaymentBatchStatus:
    DRAFT = "draft"
    EXPORTED = "exported"  # SEPA file downloaded, transfer ordered at the bank
    PAID = "paid"
    LABELS = {DRAFT: "En préparation", EXPORTED: "Virement émis", PAID: "Payé"}


class PaymentBatch(CreatedAtMixin, db.Model):
    """Validated OPCO invoices paid together by one SEPA credit transfer file (pain.001)."""

    __tablename__ = "payment_batches"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'exported', 'paid')", name="status"),
        Index("ix_payment_batches_opco", "opco_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=PaymentBatchStatus.DRAFT)
    reference: Mapped[str] = mapped_column(String(35))  # SEPA message id
    execution_date: Mapped[date | None] = mapped_column(Date)
    invoice_count: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)
    sepa_storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sepa_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def status_label(self) -> str:
        return PaymentBatchStatus.LABELS[self.status]
