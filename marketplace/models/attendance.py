"""Attendance ("émargement") per trainee × half-day, with the proof of each signature.

A half-day (``SessionSlot``) is opened by the training organisation: one ``HalfDayAttestation`` row for the
half-day and one ``Attendance`` row per trainee, each with its personal signing token. The trainee signs
(drawn signature or, as the assistive fallback, « Je certifie être présent(e) » with the typed name); the
trainer then attests the whole half-day, which locks it: any later change is an ``AttendanceAmendment`` with
its reason (and an audit event). A half-day may instead be proven by a scanned paper sheet or a virtual
classroom's connection export (``proof_document_id``). Every row carries ``provider_id`` and ``session_id``
so each lookup is scoped to its tenant with a plain column comparison.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin
from marketplace.models.enrolment import Enrolment
from marketplace.models.limits import FULL_NAME, REASON
from marketplace.models.training_session import SessionSlot

# A drawn signature is a small PNG from a canvas: refused beyond this size.
SIGNATURE_MAX_BYTES = 100_000
USER_AGENT = 300


class AttendanceStatus:
    PRESENT = "present"
    LATE = "late"  # arrived late or left early: ``minutes_missed``
    ABSENT = "absent"
    EXCUSED = "excused"  # absence with its reason (``excuse_reason``)
    LABELS = {
        PRESENT: "Présent(e)",
        LATE: "Retard / départ anticipé",
        ABSENT: "Absent(e)",
        EXCUSED: "Absence justifiée",
    }
    ATTENDING = (PRESENT, LATE)


class SignMethod:
    OF_DEVICE = "of_device"  # on the training organisation's device, during the half-day
    LINK = "link"  # the trainee's personal link
    QR = "qr"  # the QR code shown by the organisation
    CHECKBOX = "checkbox"  # assistive fallback: « Je certifie être présent(e) » and the typed name
    CONNECTION_LOG = "connection_log"  # distance session: the virtual classroom's export
    PAPER = "paper"  # scanned paper sheet
    PLATFORM = "platform"  # a signed-in member of the organisation (the trainer's attestation)
    LABELS = {
        OF_DEVICE: "Sur l'appareil de l'organisme",
        LINK: "Lien personnel",
        QR: "QR code",
        CHECKBOX: "Case « Je certifie être présent(e) » et nom saisi",
        CONNECTION_LOG: "Relevé de connexions",
        PAPER: "Feuille papier scannée",
        PLATFORM: "Compte de l'organisme sur la plateforme",
    }


_METHODS_SQL = "('of_device', 'link', 'qr', 'checkbox', 'connection_log', 'paper', 'platform')"


class HalfDayAttestation(CreatedAtMixin, db.Model):
    """One opened half-day: who opened it, the trainer's attestation (the lock) or the proof document."""

    __tablename__ = "half_day_attestations"
    __table_args__ = (
        UniqueConstraint("slot_id"),
        CheckConstraint(f"method IS NULL OR method IN {_METHODS_SQL}", name="method"),
        Index("ix_half_day_attestations_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("session_slots.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The trainer's attestation of the whole half-day: once set, the half-day is locked.
    attested_at: Mapped[datetime | None]
    attested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    trainer_name: Mapped[str] = mapped_column(String(FULL_NAME), default="")
    method: Mapped[str | None] = mapped_column(String(20))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT))
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    proof_sha256: Mapped[str | None] = mapped_column(String(64))
    # Instead of e-signatures: a scanned paper sheet or a connection export (documents kind paper_sheet /
    # connection_log); it locks the half-day too.
    proof_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))

    slot: Mapped[SessionSlot] = relationship(lazy="joined")

    @property
    def is_locked(self) -> bool:
        return self.attested_at is not None or self.proof_document_id is not None


class Attendance(CreatedAtMixin, db.Model):
    """One trainee (enrolment) on one half-day: status, and the trainee's signature with its proof."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "slot_id"),
        CheckConstraint(
            "status IS NULL OR status IN ('present', 'late', 'absent', 'excused')", name="status"
        ),
        CheckConstraint(f"sign_method IS NULL OR sign_method IN {_METHODS_SQL}", name="sign_method"),
        CheckConstraint("minutes_missed >= 0", name="minutes_missed_positive"),
        Index("ix_attendances_session_slot", "session_id", "slot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("session_slots.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    # Null until marked (a signature marks the trainee present).
    status: Mapped[str | None] = mapped_column(String(10))
    minutes_missed: Mapped[int] = mapped_column(default=0)
    excuse_reason: Mapped[str | None] = mapped_column(String(REASON))
    # The personal signing link of this trainee for this half-day only.
    sign_token: Mapped[str] = mapped_column(String(64), unique=True)
    signed_at: Mapped[datetime | None]
    sign_method: Mapped[str | None] = mapped_column(String(20))
    signed_name: Mapped[str | None] = mapped_column(String(FULL_NAME))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT))
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    proof_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None]

    slot: Mapped[SessionSlot] = relationship(lazy="joined")
    enrolment: Mapped[Enrolment] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return AttendanceStatus.LABELS.get(self.status, "Non renseigné") if self.status else "Non renseigné"


class AttendanceAmendment(CreatedAtMixin, db.Model):
    """A change to a locked half-day: before, after, who and why (also written to the audit trail)."""

    __tablename__ = "attendance_amendments"
    __table_args__ = (Index("ix_attendance_amendments_session", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("training_providers.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendances.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(REASON))
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
