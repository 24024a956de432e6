"""A trainee's personal link to their own certificates (no account: the trainee is not a platform user).

Only the SHA-256 of the random token is stored, so the database (and its backups) holds no usable link;
the link lives in the email the trainee received. It stops working at the end of the retention period,
when services.retention deletes the row with the documents' files.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin
from marketplace.models.enrolment import Enrolment


class TraineeLink(CreatedAtMixin, db.Model):
    __tablename__ = "trainee_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Last day the link works (the end of the documents' retention period).
    valid_until: Mapped[date] = mapped_column(Date)

    enrolment: Mapped[Enrolment] = relationship()
