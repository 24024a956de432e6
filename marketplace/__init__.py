"""Application factory: configuration, extensions, blueprints, CLI, error pages, security headers."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import INSTANCE_DIR, load_config
from marketplace.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    app.config.update(load_config(config))
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO)

    if app.config.get("TRUSTED_PROXIES", 0) > 0:
        # Behind N proxies: the client's address (throttling, rate limits, audit) and scheme come from them.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from marketplace import models  # noqa: F401  (registers tables)
    from marketplace.services import outbox  # noqa: F401  (registers mail delivery hooks and job)
    from marketplace.web import filters, guard, inputs, layout, params

    params.init_app(app)  # before the blueprints: every <int:…> in their routes is bounded
    guard.init_app(app)
    filters.init_app(app)
    layout.init_app(app)
    inputs.init_app(app)  # control characters and too-long URLs refused before any view
    _register_blueprints(app)
    _register_error_pages(app)
    _register_security_headers(app)

    from marketplace import cli

    cli.init_app(app)

    from marketplace.web.guard import public

    @app.get("/healthz")
    @limiter.exempt
    @public
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means unhealthy
            return {"status": "error", "database": "indisponible"}, 503
        return {"status": "ok", "database": "ok"}

    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys and let readers work beside the single writer (WAL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(conn, name):
    """SQLite: open the transaction before a savepoint. pysqlite begins one only before a data change, and
    SQLite commits a savepoint opened outside a transaction as soon as it is released: a webhook's event row
    or a tender draft saved in ``begin_nested`` would be kept even when the rest of the request is rolled
    back (SQLAlchemy's « pysqlite serializable » note)."""
    if conn.dialect.name == "sqlite":
        dbapi_connection = conn.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")


def _register_blueprints(app: Flask) -> None:
    from marketplace.blueprints.admin.routes import bp as admin_bp
    from marketplace.blueprints.auth.routes import bp as auth_bp
    from marketplace.blueprints.company.routes import bp as company_bp
    from marketplace.blueprints.opco.routes import bp as opco_bp
    from marketplace.blueprints.org.routes import bp as org_bp
    from marketplace.blueprints.provider.routes import bp as provider_bp
    from marketplace.blueprints.public.routes import bp as public_bp

    for bp in (public_bp, auth_bp, org_bp, opco_bp, company_bp, provider_bp, admin_bp):
        app.register_blueprint(bp)


def _register_error_pages(app: Flask) -> None:
    from marketplace.web.inputs import (
        UNSAFE_TEXT_MESSAGE,
        UNSAFE_TEXT_TITLE,
        URL_TOO_LONG_MESSAGE,
        URL_TOO_LONG_TITLE,
        UnsafeText,
    )

    def render_error(code: int, title: str, message: str):
        db.session.rollback()
        template = "errors/_fragment.html" if request.headers.get("HX-Request") else "errors/error.html"
        return render_template(template, code=code, title=title, message=message), code

    app.register_error_handler(
        400, lambda e: render_error(400, "Requête invalide", "La requête n'a pas pu être traitée.")
    )
    app.register_error_handler(
        CSRFError,
        lambda e: render_error(
            400,
            "Formulaire expiré",
            "Ce formulaire a expiré ou n'a pas été envoyé depuis la plateforme. "
            "Rechargez la page et recommencez.",
        ),
    )
    app.register_error_handler(
        UnsafeText, lambda e: render_error(400, UNSAFE_TEXT_TITLE, UNSAFE_TEXT_MESSAGE)
    )
    app.register_error_handler(
        403,
        lambda e: render_error(
            403,
            "Accès refusé",
            "Votre rôle ne donne pas accès à cette page. Demandez à un administrateur de votre organisation.",
        ),
    )
    app.register_error_handler(
        404,
        lambda e: render_error(
            404, "Page introuvable", "Cette page n'existe pas ou vous n'y avez pas accès."
        ),
    )
    app.register_error_handler(
        405, lambda e: render_error(405, "Action non autorisée", "Cette action n'est pas possible ici.")
    )
    app.register_error_handler(
        413,
        lambda e: render_error(
            413, "Envoi trop volumineux", "Le fichier ou le texte envoyé dépasse la taille autorisée."
        ),
    )
    app.register_error_handler(414, lambda e: render_error(414, URL_TOO_LONG_TITLE, URL_TOO_LONG_MESSAGE))
    app.register_error_handler(
        429,
        lambda e: render_error(
            429,
            "Trop de requêtes",
            "Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer.",
        ),
    )
    app.register_error_handler(
        500,
        lambda e: render_error(
            500,
            "Erreur interne",
            "Une erreur inattendue s'est produite ; "
            "rien n'a été enregistré. L'équipe technique a été prévenue.",
        ),
    )


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        # The card payment page alone admits Stripe.js's origin (Stripe requires loading it from its server).
        stripe = getattr(g, "csp_extra_origin", None)
        scripts = (
            f"script-src 'self' {stripe}; connect-src 'self' {stripe}; frame-src {stripe}; " if stripe else ""
        )
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            + (scripts or "script-src 'self'; ")
            + "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if getattr(g, "vary_hx", False) or request.headers.get("HX-Request"):
            response.vary.add("HX-Request")
        return response
