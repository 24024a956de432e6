"""Every email the platform sends is first written here, in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin


class OutboxStatus:
    PENDING = "pending"  # waiting for delivery after commit
    SENT = "sent"
    FAILED = "failed"  # SMTP refused; kept for a retry
    SENDING = "sending"  # claimed by one delivery attempt
    HELD = "held"  # no SMTP configured: kept in the outbox only
    LABELS = {
        PENDING: "En attente",
        SENDING: "En cours d'envoi",
        SENT: "Envoyé",
        FAILED: "Échec",
        HELD: "Conservé (SMTP non configuré)",
    }


class OutboxMessage(CreatedAtMixin, db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # An email written at delivery (``services.outbox.queue_email_later``): what it shows, by reference (class
    # and id of each object, with the values of its changing attributes at queue time). Cleared once written.
    render_context: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
