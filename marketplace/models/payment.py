"""Card payments of company invoices through the training organisation's own Stripe account.

The platform never holds the money (collecting funds for others needs a payment-institution licence): each
organisation connects its Stripe account (``StripeAccount``: its keys encrypted at rest, services.payment_keys),
each attempt to pay an invoice is a PaymentIntent on that account (``CardPayment``), a credit note on a
card-paid invoice is refunded on it (``StripeRefund``), and every webhook delivery received on the
organisation's endpoint is kept (``WebhookEvent``: the event id is unique per organisation, so a replay
changes nothing; rejected deliveries are kept for the operator, without any secret).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow


class StripeAccount(CreatedAtMixin, db.Model):
    """An organisation's Stripe connection: publishable key (public by nature), restricted secret key and
    webhook signing secret (Fernet tokens, never shown again), and its endpoint's unguessable token."""

    __tablename__ = "stripe_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), unique=True
    )
    webhook_token: Mapped[str] = mapped_column(String(64), unique=True)
    publishable_key: Mapped[str | None] = mapped_column(String(255))
    secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    key_hint: Mapped[str | None] = mapped_column(String(20))  # « rk_test_…a1b2 »: recognise, not use
    connected_at: Mapped[datetime | None]
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def connected(self) -> bool:
        return bool(self.secret_key_encrypted and self.publishable_key)


class CardPaymentStatus:
    OPEN = "open"  # PaymentIntent created, awaiting confirmation, 3-D Secure or Stripe's answer
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined or abandoned: the invoice is back to « Émise »
    LABELS = {OPEN: "En cours", SUCCEEDED: "Réussi", FAILED: "Refusé"}


class CardPayment(CreatedAtMixin, db.Model):
    """One PaymentIntent for one invoice (at most one open per invoice, reused on retry)."""

    __tablename__ = "card_payments"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_card_payments_invoice", "invoice_id", "status"),
        Index("ix_card_payments_provider", "provider_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="eur")
    status: Mapped[str] = mapped_column(String(20), default=CardPaymentStatus.OPEN)
    stripe_status: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    paid_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return CardPaymentStatus.LABELS[self.status]


class RefundStatus:
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LABELS = {PENDING: "Remboursement en cours", SUCCEEDED: "Remboursé", FAILED: "Remboursement refusé"}


class StripeRefund(CreatedAtMixin, db.Model):
    """The refund of a credit note on a card-paid invoice (one per credit note: its idempotency key)."""

    __tablename__ = "stripe_refunds"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_stripe_refunds_payment", "payment_id"),
        Index("ix_stripe_refunds_provider", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("card_payments.id", ondelete="CASCADE"))
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    amount_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.PENDING)
    failure_message: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return RefundStatus.LABELS[self.status]


class WebhookOutcome:
    PROCESSED = "processed"  # checked against Stripe, acted upon (or nothing to do)
    IGNORED = "ignored"  # signed, but not ours (another organisation's object) or a type we do not handle
    REJECTED = "rejected"  # bad or missing signature, unknown endpoint: 400, nothing changed
    FAILED = "failed"  # processing error (Stripe unreachable…): 500, Stripe retries
    LABELS = {
        PROCESSED: "Traité",
        IGNORED: "Ignoré",
        REJECTED: "Refusé (signature)",
        FAILED: "Erreur de traitement",
    }


class WebhookEvent(db.Model):
    """A delivery received on an organisation's endpoint. Signed events are kept by id (unique per
    organisation); rejected ones have no id and say why (never the payload's secrets nor a key)."""

    __tablename__ = "stripe_webhook_events"
    __table_args__ = (
        UniqueConstraint("provider_id", "event_id", name="uq_stripe_webhook_events_provider_event"),
        CheckConstraint("outcome IN ('processed', 'ignored', 'rejected', 'failed')", name="outcome"),
        Index("ix_stripe_webhook_events_outcome", "outcome", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("training_providers.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(String(255))
    event_type: Mapped[str | None] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def outcome_label(self) -> str:
        return WebhookOutcome.LABELS[self.outcome]
