"""Convocations sent: one row per convocation document of a trainee, with what it was sent for.

The document itself (PDF, hash, who may read it) is a ``Document`` of kind convocation; this row says for
which schedule it was made (``schedule_key``: a hash of the half-days and the place, so a postponement or a
new place calls for a new convocation) and keeps the hash of the trainee's download token (the token itself
is only in the email: the database holds nothing that opens the file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin
from marketplace.models.document import Document


class Convocation(CreatedAtMixin, db.Model):
    __tablename__ = "convocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    # The trainee it was made out to (a replacement calls for a new convocation in the newcomer's name).
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), unique=True)
    schedule_key: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime]

    document: Mapped[Document] = relationship(lazy="joined")
