"""People, their memberships in organisations (with a role) and invitations."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.extensions import db
from marketplace.models.base import CreatedAtMixin, utcnow
from marketplace.models.organisation import Organisation


class User(UserMixin, CreatedAtMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_operator: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Raised at sign-out and on a password change or reset: every session cookie carrying an older value dies.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the person opened the emailed confirmation link (or joined through an emailed invitation).
    email_confirmed_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def set_password(self, password: str) -> None:
        # scrypt (N=2^15 by default, ~0.3 s); the test suite lowers the cost through the setting.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def get_id(self) -> str:
        # The session holds the id and the session version (nothing of the password hash): raising the
        # version server-side ends every session opened before.
        return f"{self.id}:{self.session_version}"


class Membership(CreatedAtMixin, db.Model):
    """Gives a user access to an organisation with one role (a named bundle of permissions)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(40))

    user: Mapped[User] = relationship(back_populates="memberships")
    # selectin: a joined load would join every organisation kind's table on each signed-in request.
    organisation: Mapped[Organisation] = relationship(back_populates="memberships", lazy="selectin")


class Invitation(CreatedAtMixin, db.Model):
    """An emailed invitation to join an organisation with a role; only the token's hash is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship()

    def state(self, now: datetime) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class LoginAttempt(db.Model):
    """One login attempt, kept to throttle repeated failures per account and per address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45), index=True)
    succeeded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LoginThrottle(db.Model):
    """Failed sign-ins counted per key (an account, or an account from one address), with a growing delay.

    A sign-in reserves its attempt here with one atomic UPDATE before the password is checked, so parallel
    guesses cannot pass the limit; ``retry_at`` and ``last_failure_at`` are Unix times (plain numbers, the
    same arithmetic on SQLite and PostgreSQL).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    delay_seconds: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[float] = mapped_column(Float, default=0.0)
    last_failure_at: Mapped[float] = mapped_column(Float, default=0.0)
