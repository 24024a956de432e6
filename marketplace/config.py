"""Settings read from environment variables, with safe embedded defaults for development."""

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


class Config:
    """Defaults: SQLite under instance/, no Redis, no SMTP (mails stay in the outbox)."""

    ENV_NAME = os.environ.get("MARKETPLACE_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = (
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None

    # Mail: the outbox always keeps every message; SMTP decides whether it leaves.
    MAIL_SERVER = os.environ.get("SMTP_HOST") or None
    MAIL_PORT = int(os.environ.get("SMTP_PORT", "587"))
    MAIL_USERNAME = os.environ.get("SMTP_USER") or None
    MAIL_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    MAIL_USE_TLS = _bool("SMTP_STARTTLS", True)
    MAIL_SENDER = os.environ.get(
        "MAIL_SENDER", "Place de marché des actions collectives <ne-pas-repondre@marketplace.local>"
    )
    # Without Redis, committed emails wait for the scheduler's delivery job ("scheduler", every 10 s);
    # "inline" sends them right after the commit in the committing process (tests about an email's content).
    OUTBOX_DELIVERY = os.environ.get("OUTBOX_DELIVERY", "scheduler")
    # Without Redis, jobs asked for by a request (convocations, certificates: PDFs) run on a background thread
    # of the web process after the answer ("thread"); "inline" runs them inside the request (tests).
    JOBS_WITHOUT_REDIS = os.environ.get("JOBS_WITHOUT_REDIS", "thread")
    # Absolute base used in links inside emails (jobs have no request to read it from).
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies (HTTPS only) everywhere but on a developer's machine.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", ENV_NAME not in {"development", "test"})
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    WTF_CSRF_TIME_LIMIT = None  # tied to the session, which already expires

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    # Rate limits (sign-in, sign-up, password reset...) are counted in Redis when REDIS_URL is set, so that
    # every worker shares them; load_config derives it from REDIS_URL unless RATELIMIT_STORAGE_URI is given.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_HEADERS_ENABLED = True
    # Reverse proxies in front of the app (load balancer, ingress...): their X-Forwarded-For/-Proto/-Host
    # are trusted for that many hops. 0: the headers are ignored (anyone could forge them).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # Sign-in throttling: failures per account from one address, then per account from anywhere; beyond
    # the limit each attempt waits a delay doubling from the first one up to the maximum (never per address).
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_ACCOUNT_MAX_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_MAX_FAILURES", "20"))
    LOGIN_FIRST_DELAY_SECONDS = int(os.environ.get("LOGIN_FIRST_DELAY_SECONDS", "30"))
    LOGIN_MAX_DELAY_SECONDS = int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", "900"))
    LOGIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "15"))
    # The sign-in log (login_attempts) is purged by the scheduler after this many days (CNIL: 6 months).
    LOGIN_ATTEMPT_RETENTION_DAYS = int(os.environ.get("LOGIN_ATTEMPT_RETENTION_DAYS", "180"))
    EMAIL_CONFIRMATION_MAX_AGE = 7 * 24 * 60 * 60  # a week
    PASSWORD_RESET_MAX_AGE = 60 * 60  # one hour
    PASSWORD_HASH_METHOD = "scrypt"  # werkzeug method string; tests use a cheaper "scrypt:1024:8:1"
    INVITATION_VALID_DAYS = 7
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Uploaded documents (tender attachments and responses): outside the web root, served after a check.
    STORAGE_DIR = os.environ.get("STORAGE_DIR") or None  # default: instance/uploads
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))

    # Card payments (services.payment_keys, services.stripe_gateway): the organisations' Stripe keys are
    # encrypted with a key derived from PAYMENT_KEYS_SECRET (required outside development). Stripe.js is the
    # one script the platform loads from another origin (Stripe requires it); tests point both at localstripe.
    PAYMENT_KEYS_SECRET = os.environ.get("PAYMENT_KEYS_SECRET") or None
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None  # None: Stripe's own API


def load_config(overrides: dict | None = None) -> dict:
    """Collect settings into a dict; development gets a throwaway key, production must set SECRET_KEY."""
    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    settings.update(overrides or {})
    if not settings.get("SECRET_KEY"):
        if settings["ENV_NAME"] in {"development", "test"} or settings.get("TESTING"):
            settings["SECRET_KEY"] = "dev-only-secret-key-change-me"
        else:
            raise RuntimeError(
                "SECRET_KEY doit être défini en dehors du développement (variable d'environnement SECRET_KEY)."
            )
    if not settings.get("PAYMENT_KEYS_SECRET"):
        if settings["ENV_NAME"] in {"development", "test"} or settings.get("TESTING"):
            # Development only: a fixed, public value — keys saved with it are as good as plaintext.
            settings["PAYMENT_KEYS_SECRET"] = "dev-only-payment-keys-secret-never-in-production"
        else:
            raise RuntimeError(
                "PAYMENT_KEYS_SECRET doit être défini en dehors du développement : il chiffre les clés Stripe "
                "des organismes (variable d'environnement PAYMENT_KEYS_SECRET, 32 caractères aléatoires ou plus)."
            )
    if not settings.get("RATELIMIT_STORAGE_URI"):
        settings["RATELIMIT_STORAGE_URI"] = settings.get("REDIS_URL") or "memory://"
    uri = settings["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri[len("postgres://") :]
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
    settings["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        # SQLite: wait for the writer lock instead of failing at once.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 30},
            **settings["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    elif uri.startswith("postgresql") and "connect_args" not in settings["SQLALCHEMY_ENGINE_OPTIONS"]:
        # The pages' statements read a few thousand index entries in a few milliseconds: starting parallel
        # workers (10–20 ms before the first row) or compiling the plan with JIT costs more than the query
        # (bench/README.md, catalogue search at 1 000 000 sessions). Exports stream and need neither.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": "-c max_parallel_workers_per_gather=0 -c jit=off"},
            **settings["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    return settings
