"""Test harness: one app per session on a throwaway database, clean tables after every test.

Database
    ``TEST_DATABASE_URL`` set (a PostgreSQL server URL): a database ``mp_test_<hex>`` is created on that
    server for the session and dropped at the end. Unset: an SQLite file in a temporary folder.
    Tables come from ``db.create_all()`` (migrations are tested on their own in test_migrations.py);
    reference data is loaded once. After each test every non-reference table is emptied.

Contexts
    Every test that uses the app runs inside an app context, so ``db.session`` works in the test body.
    Requests made with ``client`` (and commands run with ``cli``) run in a fresh context of their own,
    as in production: their own session, their own ``g``, teardown after each request. After each request
    the test's session is expired, so objects read again show what the request committed. Factories
    commit, so the rows they create are visible to requests.

Fixtures
    app, client, db_session, make, login, outbox, cli, app_factory, scratch_database_url, smtp_server,
    live_server, is_postgres, redis_url, browser_type_launch_args (Playwright with Debian's Chromium).
"""

from __future__ import annotations

import contextlib
import contextvars
import email
import email.policy
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select, text
from sqlalchemy.engine import Engine, make_url

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import OutboxMessage
from tests.factories import DEFAULT_PASSWORD, Factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REFERENCE_PREFIX = "ref_"
SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# --- Throwaway databases -----------------------------------------------------------------------------


@event.listens_for(Engine, "connect")
def _sqlite_test_pragmas(dbapi_connection, connection_record):
    """Tests only: a throwaway SQLite database need not survive a power cut (no fsync per commit)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


def _server_conninfo(url: str) -> str:
    """libpq connection string for psycopg from a SQLAlchemy URL (any driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_database(tmp_dir: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database; drop it afterwards.

    PostgreSQL when TEST_DATABASE_URL is set (CREATE DATABASE on that server), else an SQLite file.
    """
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        # On tmpfs when the machine has one: the suite writes and empties tables after every test.
        folder = Path(tempfile.mkdtemp(prefix="mp_test_db_", dir=SHM)) if SHM else tmp_dir
        path = folder / f"mp_test_{secrets.token_hex(4)}.sqlite3"
        yield f"sqlite:///{path}"
        return
    import psycopg

    name = f"mp_test_{secrets.token_hex(6)}"
    conninfo = _server_conninfo(server_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(server_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_STORAGE_DIR = tempfile.mkdtemp(prefix="mp_test_uploads_")


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "ENV_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,  # tests/test_csrf.py builds an app with CSRF on
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test",
        "BASE_URL": "http://localhost",
        "MAIL_SERVER": None,
        "REDIS_URL": None,
        # Emails sent right after the commit, so tests read them at once; tests/test_scheduler.py checks the
        # production mode (delivered by the scheduler's job, never inside the request).
        "OUTBOX_DELIVERY": "inline",
        "JOBS_WITHOUT_REDIS": "inline",
        # Served over plain http by the test client and live_server, whatever MARKETPLACE_ENV says.
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        # Same algorithm (scrypt), a fraction of the production cost: the suite creates many accounts.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        # Uploaded files of the whole session go to a throwaway folder (see the storage_dir fixture).
        "STORAGE_DIR": os.environ.get("MP_TEST_STORAGE_DIR") or _STORAGE_DIR,
    }


class _Streamed:
    """A streamed response body, read to the end (and closed) in the context its request ran in, so that
    the request's contexts are popped even when a test reads only the status; its chunks are handed back
    one by one (``is_streamed`` stays true, the chunks are those the server sent)."""

    def __init__(self, context: contextvars.Context, body) -> None:
        def read() -> list[bytes]:
            try:
                return list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()

        self.chunks = iter(context.run(read))

    def __iter__(self):
        return self.chunks


class IsolatedClient(FlaskClient):
    """A test client whose requests run outside the test's app context, like real requests.

    Each request gets its own app context (own db session, own ``g``, teardown at the end); afterwards the
    test's session is expired so that objects read again reflect what the request committed.
    ``with client:`` (keeping the request context after the call) is not supported.
    """

    def open(self, *args, **kwargs):
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:  # a streamed body (stream_with_context) is read in the request's context
            response.response = _Streamed(context, response.response)
        with contextlib.suppress(RuntimeError):  # no app context in the test: nothing to refresh
            db.session.expire_all()
        return response


def _dispose_engines(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def app(database_url) -> Iterator[Flask]:
    """The application under test (one per session), tables created, reference data loaded."""
    application = create_app(base_config(database_url))
    application.test_client_class = IsolatedClient
    with application.app_context():
        from marketplace.services.reference_data import load_reference_data

        db.create_all()
        load_reference_data()
        db.session.commit()
        db.session.remove()
    yield application
    _dispose_engines(application)


def _empty_tables() -> None:
    tables = [t for t in db.metadata.sorted_tables if not t.name.startswith(REFERENCE_PREFIX)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail loudly rather than hang
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(delete(table))


@pytest.fixture(autouse=True)
def _app_context(request) -> Iterator[None]:
    """For tests that use the app: an app context around the test, then empty the tables."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    ctx = application.app_context()
    ctx.push()
    try:
        yield
    finally:
        db.session.remove()
        try:
            _empty_tables()
        finally:
            ctx.pop()


@pytest.fixture
def db_session(app):
    """The Flask-SQLAlchemy session of the test's app context (``db.session``)."""
    return db.session


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make(app) -> Factories:
    """Factories (see tests/factories.py); each one commits."""
    return Factories()


@pytest.fixture
def login() -> Callable:
    """``login(client, user, password=DEFAULT_PASSWORD)``: sign in through the login form (303 expected)."""

    def do_login(client: FlaskClient, user, password: str = DEFAULT_PASSWORD):
        response = client.post("/connexion", data={"email": user.email, "password": password})
        assert response.status_code == 303, (
            f"la connexion de {user.email} a échoué ({response.status_code}) : "
            + response.get_data(as_text=True)[:500]
        )
        return response

    return do_login


@pytest.fixture
def outbox(app) -> Callable[..., list[OutboxMessage]]:
    """``outbox(recipient=None)``: outbox rows (for one address, or all), oldest first, read afresh."""

    def read(recipient: str | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).order_by(OutboxMessage.id).execution_options(populate_existing=True)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient.lower())
        return list(db.session.scalars(query))

    return read


@pytest.fixture
def cli(app) -> Callable:
    """``cli("seed-demo", input=None)``: run a flask command in its own app context; returns click's Result."""
    runner = app.test_cli_runner()  # click >= 8.2: result.stdout and result.stderr are kept apart

    def run(*args: str, input: str | None = None):
        result = contextvars.Context().run(runner.invoke, args=list(args), input=input)
        db.session.expire_all()
        return result

    return run


@pytest.fixture
def app_factory(app, database_url) -> Iterator[Callable[..., Flask]]:
    """``app_factory(**config)``: another app on the test database with some settings changed.

    Same tables and data as ``app``; its engines are disposed after the test.
    """
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        other = create_app({**base_config(database_url), **overrides})
        other.test_client_class = IsolatedClient
        built.append(other)
        return other

    yield build
    for other in built:
        _dispose_engines(other)


@pytest.fixture
def scratch_database_url(tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the suite's (separate from it), dropped after the test."""
    with throwaway_database(tmp_path) as url:
        yield url


# --- Redis -------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """TEST_REDIS_URL (CI sets it); tests that need Redis are skipped locally without it."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL n'est pas défini : test RQ ignoré (.ci/run le définit, il tourne en CI).")
    return url


# --- SMTP --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    """Messages received by the loopback SMTP server (parsed ``email.message.EmailMessage``)."""

    port: int
    host: str = "127.0.0.1"
    messages: list = field(default_factory=list)
    envelopes: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(
                envelope.original_content or envelope.content, policy=email.policy.default
            )
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free loopback port; ``.messages`` and ``.port``."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- Browser -----------------------------------------------------------------------------------------


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on a free loopback port (threaded werkzeug); yields its base URL.

    BASE_URL points at it during the test, so links in emails open in the browser.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    previous = app.config["BASE_URL"]
    app.config["BASE_URL"] = url
    try:
        yield url
    finally:
        app.config["BASE_URL"] = previous
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright launches Debian's Chromium; a missing browser fails the browser tests (no skip)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium est introuvable ({CHROMIUM}) : installez-le avec « apt-get install -y chromium » "
            "(scripts/test.sh le fait quand il tourne en root).",
            pytrace=False,
        )
    # The machine running the suite is shared (CI, other sessions): an assertion waits up to 30 s for the page
    # to show what it expects (Playwright's default, 5 s, failed a passing test under load).
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# --- Stripe (localstripe) ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[str]:
    """localstripe started once for the session on a free port (``--from-scratch``), killed at the end."""
    from tests import localstripe

    process, url = localstripe.start()
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except Exception:  # noqa: BLE001
            process.kill()


@pytest.fixture
def fake_stripe(app, localstripe_server):
    """The app's Stripe calls and its card page's Stripe.js go to localstripe during the test."""
    from tests.localstripe import FakeStripe

    previous = {k: app.config.get(k) for k in ("STRIPE_API_BASE", "STRIPE_JS_URL")}
    app.config["STRIPE_API_BASE"] = localstripe_server
    app.config["STRIPE_JS_URL"] = f"{localstripe_server}/js.stripe.com/v3/"
    try:
        yield FakeStripe(localstripe_server)
    finally:
        app.config.update(previous)
