"""A file export run in the background (services/export_jobs): asked by a member, built row by row, kept a
few days for download by the members of the organisation that asked for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin


class ExportStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # done, and its file deleted at the end of its keeping period
    LABELS = {
        QUEUED: "En attente",
        RUNNING: "En cours",
        DONE: "Prêt",
        FAILED: "Échec",
        EXPIRED: "Expiré",
    }
    PENDING = (QUEUED, RUNNING)


class ExportJob(CreatedAtMixin, db.Model):
    """One export asked for: its kind and parameters, its progress (``rows_done`` / ``rows_total``) and,
    once done, the stored file (key, size, SHA-256) until ``expires_at``."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'expired')", name="status"),
        CheckConstraint("format IN ('csv', 'xlsx')", name="format"),
        Index("ix_export_jobs_organisation", "organisation_id", "created_at"),
        Index("ix_export_jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(4))
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.QUEUED)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]
    filename: Mapped[str] = mapped_column(String(200), default="")
    storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # last progress written: a run silent for long has died
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    @property
    def status_label(self) -> str:
        return ExportStatus.LABELS[self.status]

    @property
    def is_pending(self) -> bool:
        return self.status in ExportStatus.PENDING

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)
