"""Who may come in: sign-in with throttling, sign-out, self-service sign-up and email confirmation.

Sign-in throttling counts failures per account and per (account, address), never per address alone (one
address must not be able to lock everybody out, e.g. behind a shared proxy). After ``LOGIN_MAX_FAILURES``
failures of one account from one address (``LOGIN_ACCOUNT_MAX_FAILURES`` from anywhere), each further attempt
waits a delay that doubles from ``LOGIN_FIRST_DELAY_SECONDS`` up to ``LOGIN_MAX_DELAY_SECONDS``. The attempt is
reserved with one atomic ``UPDATE`` committed before the password is checked, so parallel guesses cannot
exceed the limit; a success clears the counters. Unknown addresses go through the same password check against
a dummy hash, so the answer takes the same time whether the account exists or not.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.extensions import db
from marketplace.models import (
    Invitation,
    LoginAttempt,
    LoginThrottle,
    Membership,
    Organisation,
    User,
    utcnow,
)
from marketplace.services import accounts, audit, identifiers, organisations, outbox
from marketplace.services.context import current_ip
from marketplace.services.errors import DomainError

WRONG_CREDENTIALS = "Adresse e-mail ou mot de passe incorrect."

# --- Sign-in -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or the French reason shown on the form."""

    user: User | None
    refusal: str | None = None


def _clean_email(raw: str | None) -> str:
    """What was typed, as the key of the throttle and of the attempt log (printable, bounded)."""
    email = "".join(c for c in (raw or "") if c.isprintable()).strip().lower()
    return email[:254]


def _keys(email: str, ip: str | None) -> list[tuple[str, int]]:
    """The counters an attempt reserves, tightest first (always the same order: no deadlock)."""
    config = current_app.config
    return [
        (f"p:{email}|{ip or ''}", config["LOGIN_MAX_FAILURES"]),
        (f"a:{email}", config["LOGIN_ACCOUNT_MAX_FAILURES"]),
    ]


def _insert_missing(conn, key: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(LoginThrottle.__table__)
        .values(key=key, failures=0, delay_seconds=0, retry_at=0.0, last_failure_at=0.0)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def _reserve(email: str, ip: str | None, now: float) -> float | None:
    """Count this attempt as a failure before the password is checked; None, or the seconds left to wait.

    Runs in its own transaction, committed at once, so that the count survives whatever the request does and
    parallel requests see each other's reservations. A refused attempt is not counted.
    """
    config = current_app.config
    first, cap = config["LOGIN_FIRST_DELAY_SECONDS"], config["LOGIN_MAX_DELAY_SECONDS"]
    quiet = config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60
    with db.engine.connect() as conn, conn.begin() as transaction:
        for key, limit in _keys(email, ip):
            wait = _reserve_key(conn, key, limit, now, first, cap, quiet)
            if wait is None:  # the row was purged between our insert and update: once more, it is new
                wait = _reserve_key(conn, key, limit, now, first, cap, quiet)
            if wait:
                transaction.rollback()
                return wait
    return None


def _reserve_key(conn, key: str, limit: int, now: float, first: int, cap: int, quiet: int) -> float | None:
    """Reserve one counter: 0.0 when reserved, the seconds left to wait, or None if its row vanished."""
    table = LoginThrottle.__table__
    _insert_missing(conn, key)
    # Failures long forgotten: start again from zero.
    conn.execute(
        update(table)
        .where(
            table.c.key == key,
            table.c.failures > 0,
            table.c.last_failure_at < now - quiet,
            table.c.retry_at <= now,
        )
        .values(failures=0, delay_seconds=0, retry_at=0.0)
    )
    delay = case(
        (table.c.failures + 1 < limit, 0),
        (table.c.delay_seconds == 0, first),
        (table.c.delay_seconds * 2 > cap, cap),
        else_=table.c.delay_seconds * 2,
    )
    reserved = conn.execute(
        update(table)
        .where(table.c.key == key, (table.c.failures < limit) | (table.c.retry_at <= now))
        .values(
            failures=table.c.failures + 1,
            delay_seconds=delay,
            retry_at=now + delay,
            last_failure_at=now,
        )
        .returning(table.c.failures)
    ).first()
    if reserved is not None:
        return 0.0
    retry_at = conn.execute(select(table.c.retry_at).where(table.c.key == key)).scalar()
    return None if retry_at is None else max(retry_at - now, 1.0)


def purge_login_records(now: float | None = None) -> tuple[int, int]:
    """Delete what sign-in throttling no longer needs; returns (throttle rows, attempt log rows) deleted.

    A throttle row whose wait is over and whose last failure is older than the failure window (and a day)
    counts for nothing: ``_reserve`` would reset it, and recreates it when needed. The attempt log is kept
    ``LOGIN_ATTEMPT_RETENTION_DAYS`` days.
    """
    config = current_app.config
    now = time.time() if now is None else now
    forgotten = now - max(
        config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60, config["LOGIN_MAX_DELAY_SECONDS"], 86400
    )
    table = LoginThrottle.__table__
    throttles = db.session.execute(
        delete(table).where(table.c.retry_at <= now, table.c.last_failure_at < forgotten)
    ).rowcount
    kept_since = utcnow() - timedelta(days=config["LOGIN_ATTEMPT_RETENTION_DAYS"])
    attempts = db.session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < kept_since)).rowcount
    return throttles, attempts


def _release(email: str, ip: str | None) -> None:
    """A success clears the account's counters (its own transaction, like the reservation)."""
    table = LoginThrottle.__table__
    keys = [key for key, _limit in _keys(email, ip)]
    with db.engine.begin() as conn:
        conn.execute(
            update(table).where(table.c.key.in_(keys)).values(failures=0, delay_seconds=0, retry_at=0.0)
        )


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made with the same method and cost as real ones, checked when the account does not exist."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("pas-un-vrai-mot-de-passe", method=method)
    return _DUMMY_HASHES[method]


def verify_password(password_hash: str | None, password: str) -> bool:
    """The one password check of the sign-in, run against a dummy hash when there is no account."""
    matches = check_password_hash(password_hash or _dummy_hash(), password or "")
    return matches and password_hash is not None


def _wait_text(seconds: float) -> str:
    seconds = int(seconds + 0.999)
    if seconds < 60:
        return f"{seconds} secondes" if seconds > 1 else "1 seconde"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes" if minutes > 1 else "1 minute"


def sign_in(raw_email: str, password: str) -> SignIn:
    """Check the credentials once the attempt is reserved; refusals are recorded (attempt log, audit)."""
    email = _clean_email(raw_email)
    ip = current_ip()
    wait = _reserve(email, ip, time.time())
    if wait is not None:
        return SignIn(
            None,
            f"Trop de tentatives de connexion échouées. Réessayez dans {_wait_text(wait)} "
            "ou réinitialisez votre mot de passe.",
        )
    user = db.session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user is not None else None, password) and user.is_active
    db.session.add(LoginAttempt(email=email, ip_address=ip, succeeded=ok))
    if not ok:
        for membership in user.memberships if user else []:
            audit.record("auth.login_failed", organisation_id=membership.organisation_id, actor=user)
        if user is None:
            audit.record("auth.login_failed", data={"email": email})
        return SignIn(None, WRONG_CREDENTIALS)
    _release(email, ip)
    user.last_login_at = utcnow()
    for membership in user.memberships:
        audit.record("auth.login", organisation_id=membership.organisation_id, actor=user)
    return SignIn(user)


def sign_out(user: User) -> None:
    """End every session of this person opened before now: the cookies carry the old session version."""
    for membership in user.memberships:
        audit.record("auth.logout", organisation_id=membership.organisation_id, actor=user)
    user.session_version = (user.session_version or 0) + 1


_WITH_MEMBERSHIPS = (joinedload(User.memberships).joinedload(Membership.organisation),)  # built once


def user_for_session(session_id: str | None) -> User | None:
    """The user a session cookie names (``<id>:<session version>``), if that session has not been ended."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 18:
        return None
    # With the memberships and their organisations in the same statement: every signed-in page needs them
    # (the tenant guard finds the URL's organisation among them, the menu lists them).
    user = db.session.get(User, int(user_id), options=_WITH_MEMBERSHIPS)
    if user is None or user.session_version != int(version):
        return None
    return user


# --- Sign-up -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    email: str
    full_name: str
    password: str


@dataclass(frozen=True)
class SignUp:
    """``organisation`` is None when the address already had an account (its owner was told by email)."""

    email: str
    organisation: Organisation | None
    user: User | None


def sign_up(
    account: NewAccount | None, signed_in: User | None, create: Callable[[User], Organisation]
) -> SignUp:
    """Create an organisation and, when nobody is signed in, its administrator's account (unconfirmed).

    Whether the address already has an account is never said on the page: that owner gets an email instead,
    and the page answers as if a confirmation link had been sent.
    """
    if signed_in is not None:
        organisation = create(signed_in)
        audit.record(
            "auth.signup",
            organisation_id=organisation.id,
            actor=signed_in,
            obj=organisation,
            data={"email": signed_in.email},
        )
        return SignUp(signed_in.email, organisation, signed_in)
    assert account is not None
    email = accounts.normalise_email(account.email)
    accounts.validate_new_account(account.full_name, account.password)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        # As long as creating the account would have taken (the password is hashed, then thrown away).
        generate_password_hash(
            account.password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        )
        outbox.queue_email(existing.email, "signup_existing_account", user=existing)
        return SignUp(email, None, None)
    user = accounts.create_user(email, account.full_name, account.password, email_confirmed=False)
    organisation = create(user)
    audit.record(
        "auth.signup",
        organisation_id=organisation.id,
        actor=user,
        obj=organisation,
        data={"email": user.email},
    )
    send_confirmation(user)
    return SignUp(email, organisation, user)


@dataclass(frozen=True)
class SignupCheck:
    """Live feedback while typing: (``"ok"``/``"warning"``/``"error"``, French text) or None per field."""

    siret: tuple[str, str] | None
    idcc: tuple[str, str] | None


def signup_check(siret_raw: str, idcc_raw: str) -> SignupCheck:
    """Is the SIRET valid, which OPCO does the IDCC lead to."""
    siret_raw, idcc_raw = (siret_raw or "").strip()[:100], (idcc_raw or "").strip()[:100]
    siret_result = idcc_result = None
    if siret_raw:
        try:
            siret = identifiers.validate_siret(siret_raw)
            siret_result = ("ok", f"SIRET valide : {identifiers.format_siret(siret)} (SIREN {siret[:9]}).")
        except DomainError as error:
            siret_result = ("error", error.message)
    if idcc_raw:
        try:
            attachment = organisations.attachment_for_idcc(idcc_raw)
            idcc_result = ("ok" if attachment.opco else "warning", attachment.message)
        except DomainError as error:
            idcc_result = ("error", error.message)
    return SignupCheck(siret_result, idcc_result)


def memberships_by_name(user: User) -> list:
    """The organisations a person may switch to, by name."""
    return sorted(user.memberships, key=lambda m: m.organisation.name.lower())


# --- Email confirmation --------------------------------------------------------------------------------


def _confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-confirmation")


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def send_confirmation(user: User) -> None:
    """Email a signed link (valid ``EMAIL_CONFIRMATION_MAX_AGE``; it dies once the address is confirmed)."""
    if user.email_confirmed:
        raise DomainError("Votre adresse électronique est déjà confirmée.")
    token = _confirmation_serializer().dumps({"uid": user.id, "e": _address_digest(user.email)})
    days = max(1, current_app.config["EMAIL_CONFIRMATION_MAX_AGE"] // 86400)
    outbox.queue_email(user.email, "email_confirmation", user=user, token=token, days=days)


def user_for_confirmation(token: str) -> User:
    """The unconfirmed account behind a confirmation link, or a French reason why the link cannot be used."""
    try:
        data = _confirmation_serializer().loads(
            token, max_age=current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]
        )
    except SignatureExpired:
        raise DomainError(
            "Ce lien de confirmation a expiré. Connectez-vous pour en recevoir un nouveau."
        ) from None
    except BadSignature:
        raise DomainError("Ce lien de confirmation n'est pas valide.") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or _address_digest(user.email) != data.get("e"):
        raise DomainError("Ce lien de confirmation n'est pas valide.")
    if user.email_confirmed:
        raise DomainError("Votre adresse électronique est déjà confirmée : connectez-vous.")
    return user


def confirmation_problem(token: str) -> str | None:
    """Why a confirmation link cannot be used (French), or None."""
    try:
        user_for_confirmation(token)
    except DomainError as error:
        return error.message
    return None


def confirm_email(token: str) -> User:
    """Mark the address as confirmed (once: the link is refused afterwards)."""
    user = user_for_confirmation(token)
    user.email_confirmed_at = utcnow()
    for membership in user.memberships:
        audit.record("auth.email_confirmed", organisation_id=membership.organisation_id, actor=user)
    return user


def invitation_or_problem(token: str) -> tuple[Invitation | None, str | None]:
    """The pending invitation behind a link, or the French reason why it cannot be used."""
    try:
        return accounts.invitation_for_token(token), None
    except DomainError as error:
        return None, error.message


def join_by_invitation(token: str, user: User | None, *, full_name: str = "", password: str = ""):
    """Accept an invitation; the emailed link also proves the address, so it counts as confirmed."""
    membership = accounts.accept_invitation(token, user, full_name=full_name, password=password)
    if membership.user.email_confirmed_at is None:
        membership.user.email_confirmed_at = utcnow()
    return membership
