"""People: accounts, password reset, invitations and membership management (sign-in: services.authentication)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select

from marketplace.extensions import db
from marketplace.formatting import of_name
from marketplace.models import Invitation, Membership, Organisation, User, utcnow
from marketplace.services import audit, outbox
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_row
from marketplace.services.roles import has_permission, is_admin_role, role, roles_for

MIN_PASSWORD_LENGTH = 12


def normalise_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email(
            (raw or "").strip(), check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError:
        raise DomainError(
            "Saisissez une adresse e-mail valide, par exemple prenom.nom@entreprise.fr.", field=field
        ) from None


def validate_password(password: str, field: str = "password") -> str:
    """At least 12 characters (CNIL recommendation for a password without other measures)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères.", field=field
        )
    if password.strip() != password or len(set(password)) < 4:
        raise DomainError("Ce mot de passe est trop simple : variez les caractères.", field=field)
    return password


def validate_new_account(full_name: str, password: str) -> str:
    """The person's own fields for a new account (the name, stripped, is returned)."""
    full_name = (full_name or "").strip()
    if len(full_name) < 2:
        raise DomainError("Indiquez vos prénom et nom.", field="full_name")
    validate_password(password)
    return full_name


def create_user(
    email: str, full_name: str, password: str, *, is_operator: bool = False, email_confirmed: bool = True
) -> User:
    """A new account. ``email_confirmed=False`` for a self-service sign-up, whose address is not yet proven;
    the other paths (operator command, emailed invitation, demo data) come with a known address."""
    email = normalise_email(email)
    full_name = validate_new_account(full_name, password)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise DomainError(
            "Un compte existe déjà avec cette adresse. Connectez-vous, ou utilisez « Mot de passe oublié ».",
            field="email",
        )
    user = User(
        email=email,
        full_name=full_name,
        is_operator=is_operator,
        email_confirmed_at=utcnow() if email_confirmed else None,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


# --- Password reset ------------------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def request_password_reset(raw_email: str) -> None:
    """Email a reset link if the account exists; say nothing either way (no account enumeration)."""
    email = "".join(c for c in (raw_email or "") if c.isprintable()).strip().lower()[:254]
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return
    # The token embeds a digest of the current hash: it dies as soon as the password changes.
    token = _reset_serializer().dumps({"uid": user.id, "h": _hash_digest(user)})
    outbox.queue_email(
        user.email,
        "password_reset",
        user=user,
        token=token,
        minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )
    for membership in user.memberships:
        audit.record("auth.password_reset_requested", organisation_id=membership.organisation_id, actor=user)


def _hash_digest(user: User) -> str:
    """Changes with the password, reveals nothing of the hash itself."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def user_for_reset_token(token: str) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise DomainError("Ce lien a expiré. Demandez un nouveau lien de réinitialisation.") from None
    except BadSignature:
        raise DomainError("Ce lien n'est pas valide. Demandez un nouveau lien de réinitialisation.") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or _hash_digest(user) != data.get("h"):
        raise DomainError("Ce lien a déjà été utilisé. Demandez un nouveau lien de réinitialisation.")
    return user


def reset_link_problem(token: str) -> str | None:
    """Why a reset link cannot be used (French), or None."""
    try:
        user_for_reset_token(token)
    except DomainError as error:
        return error.message
    return None


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    validate_password(new_password)
    user.set_password(new_password)
    user.session_version = (user.session_version or 0) + 1  # every open session ends
    for membership in user.memberships:
        audit.record("auth.password_reset", organisation_id=membership.organisation_id, actor=user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password or ""):
        raise DomainError("Le mot de passe actuel est incorrect.", field="current_password")
    validate_password(new_password, field="new_password")
    user.set_password(new_password)
    user.session_version = (user.session_version or 0) + 1  # other sessions end; the caller renews its own
    for membership in user.memberships:
        audit.record("auth.password_changed", organisation_id=membership.organisation_id, actor=user)


def update_profile(user: User, full_name: str) -> None:
    full_name = (full_name or "").strip()
    if len(full_name) < 2:
        raise DomainError("Indiquez vos prénom et nom.", field="full_name")
    user.full_name = full_name


# --- Invitations ---------------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


INVITATIONS_PER_HOUR = 20


def _check_invitation_rate(organisation: Organisation, now) -> None:
    """At most ``INVITATIONS_PER_HOUR`` invitations per organisation per hour (revoked ones count too), so the
    platform cannot be used to send mail to arbitrary addresses. Counted in the database under the
    organisation's row lock: it holds across hosts and parallel requests."""
    limit = current_app.config.get("INVITATIONS_PER_HOUR", INVITATIONS_PER_HOUR)
    if not lock_row(
        Organisation.__table__, organisation.id
    ):  # the bare table: FOR UPDATE refuses outer joins
        raise DomainError("Cette organisation n'existe plus.")
    sent = db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.organisation_id == organisation.id, Invitation.created_at >= now - timedelta(hours=1)
        )
    )
    if (sent or 0) >= limit:
        raise DomainError(
            f"{organisation.name} a déjà envoyé {limit} invitations depuis une heure : c'est le maximum. "
            "Réessayez un peu plus tard.",
            field="email",
        )


def invite(organisation: Organisation, raw_email: str, role_code: str, actor: User) -> Invitation:
    """Invite someone by email with a role; a pending invitation to the same address is replaced."""
    email = normalise_email(raw_email)
    if role(organisation.kind, role_code) is None:
        raise DomainError("Choisissez un rôle dans la liste.", field="role")
    _check_invitation_rate(organisation, utcnow())
    already = db.session.scalar(
        select(Membership.id)
        .join(User)
        .where(Membership.organisation_id == organisation.id, User.email == email)
    )
    if already:
        raise DomainError(f"{email} est déjà membre {of_name(organisation.name)}.", field="email")
    now = utcnow()
    for previous in db.session.scalars(
        select(Invitation).where(
            Invitation.organisation_id == organisation.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        previous.revoked_at = now
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_VALID_DAYS"]
    invitation = Invitation(
        organisation_id=organisation.id,
        email=email,
        role=role_code,
        token_hash=_hash_token(token),
        invited_by=actor,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    outbox.queue_email(
        email,
        "invitation",
        organisation_id=organisation.id,
        organisation=organisation,
        inviter=actor,
        role_label=roles_for(organisation.kind)[role_code].label,
        token=token,
        days=days,
    )
    audit.record(
        "member.invited",
        organisation_id=organisation.id,
        actor=actor,
        obj=invitation,
        data={"email": email, "role": role_code},
    )
    return invitation


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    if invitation.state(utcnow()) != "pending":
        raise DomainError("Cette invitation n'est plus en attente.")
    invitation.revoked_at = utcnow()
    audit.record(
        "member.invitation_revoked",
        organisation_id=invitation.organisation_id,
        actor=actor,
        obj=invitation,
        data={"email": invitation.email},
    )


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation behind a link, or a French reason why it cannot be used."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _hash_token(token or ""))
    )
    if invitation is None:
        raise DomainError("Ce lien d'invitation n'est pas valide.")
    _check_pending(invitation)
    return invitation


def _check_pending(invitation: Invitation) -> None:
    state = invitation.state(utcnow())
    if state == "expired":
        raise DomainError(
            "Cette invitation a expiré. Demandez à l'administrateur de "
            f"{invitation.organisation.name} de vous en envoyer une nouvelle."
        )
    if state == "accepted":
        raise DomainError(
            "Cette invitation a déjà été acceptée. Connectez-vous pour accéder à l'organisation."
        )
    if state == "revoked":
        raise DomainError("Cette invitation a été annulée par l'organisation.")


def accept_invitation(
    token: str, user: User | None, *, full_name: str = "", password: str = ""
) -> Membership:
    """Join the organisation: as the signed-in user (same email) or by creating the account now.

    The invitation's row is locked, then its state read again: of two acceptances at once (double click, two
    tabs), the second waits for the first and is told the invitation is already accepted.
    """
    invitation = invitation_for_token(token)
    if not lock_row(Invitation.__table__, invitation.id):
        raise DomainError("Ce lien d'invitation n'est pas valide.")
    db.session.refresh(invitation)
    _check_pending(invitation)
    if user is None:
        user = create_user(invitation.email, full_name, password)
    elif user.email != invitation.email:
        raise DomainError(
            f"Cette invitation a été envoyée à {invitation.email}. Connectez-vous avec ce compte pour l'accepter."
        )
    if db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.organisation_id == invitation.organisation_id
        )
    ):
        raise DomainError(f"Vous êtes déjà membre {of_name(invitation.organisation.name)}.")
    membership = Membership(user=user, organisation_id=invitation.organisation_id, role=invitation.role)
    db.session.add(membership)
    invitation.accepted_at = utcnow()
    db.session.flush()
    audit.record(
        "member.joined",
        organisation_id=invitation.organisation_id,
        actor=user,
        obj=membership,
        data={"email": user.email, "role": invitation.role},
    )
    return membership


# --- Members -------------------------------------------------------------------------------------------


def _lock_organisation(organisation_id: int) -> None:
    """Serialise membership changes of one organisation (the last-administrator rule counts rows)."""
    # The bare table: FOR UPDATE refuses the polymorphic outer joins. Bounded wait (« réessayez »), see locking.
    lock_row(Organisation.__table__, organisation_id)


def _other_admins(membership: Membership) -> int:
    kind = membership.organisation.kind
    others = db.session.scalars(
        select(Membership.role).where(
            Membership.organisation_id == membership.organisation_id, Membership.id != membership.id
        )
    )
    return sum(1 for r in others if is_admin_role(kind, r))


def change_role(membership: Membership, new_role: str, actor: User) -> None:
    """Give a member another role; the last administrator cannot be demoted."""
    kind = membership.organisation.kind
    if role(kind, new_role) is None:
        raise DomainError("Choisissez un rôle dans la liste.", field="role")
    if new_role == membership.role:
        return
    _lock_organisation(membership.organisation_id)
    if (
        is_admin_role(kind, membership.role)
        and not is_admin_role(kind, new_role)
        and _other_admins(membership) == 0
    ):
        raise DomainError(
            "Impossible : c'est le dernier administrateur. Nommez d'abord un autre administrateur."
        )
    old = membership.role
    membership.role = new_role
    audit.record(
        "member.role_changed",
        organisation_id=membership.organisation_id,
        actor=actor,
        obj=membership,
        data={"email": membership.user.email, "from": old, "to": new_role},
    )


def remove_member(membership: Membership, actor: User) -> None:
    """Remove someone's access; the last administrator cannot be removed."""
    _lock_organisation(membership.organisation_id)
    if is_admin_role(membership.organisation.kind, membership.role) and _other_admins(membership) == 0:
        raise DomainError(
            "Impossible : c'est le dernier administrateur. Nommez d'abord un autre administrateur."
        )
    audit.record(
        "member.removed",
        organisation_id=membership.organisation_id,
        actor=actor,
        obj=membership,
        data={"email": membership.user.email, "role": membership.role},
    )
    db.session.delete(membership)


def user_exists(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == (email or "").strip().lower())) is not None


_MEMBER_EMAILS = (  # built once: it runs on every enrolment
    select(Membership.organisation_id, Membership.role, User.email)
    .join(User, User.id == Membership.user_id)
    .where(Membership.organisation_id.in_(bindparam("ids", expanding=True)))
)


def member_emails(organisation_ids: list[int], kind: str, *permissions: str) -> dict[int, list[str]]:
    """Per organisation, the addresses of its members whose role grants any of ``permissions`` (one query)."""
    if not organisation_ids:
        return {}
    rows = db.session.execute(_MEMBER_EMAILS, {"ids": list(organisation_ids)}).all()
    result: dict[int, set[str]] = {}
    for organisation_id, role_code, email in rows:
        if any(has_permission(kind, role_code, p) for p in permissions):
            result.setdefault(organisation_id, set()).add(email)
    return {k: sorted(v) for k, v in result.items()}
