"""Documents the platform issues (convocations, attendance sheets, certificates…) and proofs it keeps.

A document is rendered once, stored in ``services.storage`` and never regenerated in place: its SHA-256 is
kept so anyone can check the file has not changed, and a correction is a new document that supersedes the
old one (``superseded_by_id``). Each row carries the ids of every organisation allowed to read it, so the
tenant predicate is a plain column comparison. ``purge_after`` is when the retention period ends
(services.retention purges the file and keeps the minimal trace).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin


class DocumentKind:
    CONVOCATION = "convocation"
    ATTENDANCE_SHEET = "attendance_sheet"  # feuille d'émargement of a session (PDF rendered by the platform)
    PAPER_SHEET = "paper_sheet"  # scan of a signed paper sheet of one half-day, uploaded by the OF
    CONNECTION_LOG = "connection_log"  # export of a virtual classroom's connections, for a distance half-day
    CERTIFICATE = "certificate"  # certificat de réalisation (ministry model)
    ATTESTATION = "attestation"  # attestation de fin de formation (L6353-1)
    LABELS = {
        CONVOCATION: "Convocation",
        ATTENDANCE_SHEET: "Feuille d'émargement",
        PAPER_SHEET: "Feuille d'émargement papier (scan)",
        CONNECTION_LOG: "Relevé de connexions",
        CERTIFICATE: "Certificat de réalisation",
        ATTESTATION: "Attestation de fin de formation",
    }


class Document(CreatedAtMixin, db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('convocation', 'attendance_sheet', 'paper_sheet', 'connection_log', 'certificate', "
            "'attestation')",
            name="kind",
        ),
        CheckConstraint("size_bytes >= 0", name="size_positive"),
        Index("ix_documents_session_kind", "session_id", "kind"),
        Index("ix_documents_enrolment_kind", "enrolment_id", "kind"),
        Index("ix_documents_company", "company_id", "kind"),
        Index("ix_documents_purge", "purge_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # What it is about: a session, and one trainee's enrolment for per-trainee documents; one half-day for
    # a paper sheet or a connection log.
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("session_slots.id", ondelete="CASCADE"))
    # Who may read it (tenant columns): the issuing training organisation, the OPCO funding the session, and
    # the employer for a per-trainee document.
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    opco_id: Mapped[int] = mapped_column(ForeignKey("opcos.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    # Null once purged at the end of the retention period (the row, its hash and dates stay as the trace).
    storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    purge_after: Mapped[date | None] = mapped_column(Date)
    purged_at: Mapped[datetime | None]

    @property
    def kind_label(self) -> str:
        return DocumentKind.LABELS[self.kind]
