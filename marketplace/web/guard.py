"""The tenant guard: one mechanism that every organisation blueprint uses.

Order of a request: CSRF (global), load the organisation from the URL, check the user belongs to it
(404 otherwise, so another tenant's data is indistinguishable from missing data), check the permission
(403), run the view, commit once. Objects named in the URL are loaded with ``get_owned`` which applies
the tenant predicate and answers 404 for anything outside the current organisation.

Every view carries an ``access`` marker (public, login, operator, tenant) that the route-walking
isolation test reads, so a new route cannot be added without saying who may reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, g, render_template, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from marketplace.extensions import db, login_manager
from marketplace.models import User
from marketplace.services import authentication
from marketplace.services.context import set_request_context
from marketplace.services.roles import has_permission

PUBLIC = "public"
LOGIN = "login"
OPERATOR = "operator"
TENANT = "tenant"


def init_app(app) -> None:
    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # "<id>:<session version>": a session ended server-side (sign-out, new password) no longer loads.
        return authentication.user_for_session(session_id)

    @app.before_request
    def remember_client_address():
        set_request_context(request.remote_addr)

    @app.context_processor
    def inject_tenant():
        org = g.get("org")
        membership = g.get("membership")

        def can(permission: str) -> bool:
            return bool(org and membership and has_permission(org.kind, membership.role, permission))

        return {"current_org": org, "current_membership": membership, "can": can}


def start_session(user: User) -> None:
    """Sign ``user`` in on this browser with a fresh CSRF token (a token seen before sign-in is worthless)."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    login_user(user)


def end_session() -> None:
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    logout_user()


def public(view: Callable) -> Callable:
    """Anyone may see this page, signed in or not."""
    view.access = PUBLIC
    return view


def login_required(view: Callable) -> Callable:
    """Any signed-in person; no organisation involved."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    wrapped.access = LOGIN
    return wrapped


def operator_required(view: Callable) -> Callable:
    """Only the people who run the platform."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_operator:
            abort(403)
        return view(*args, **kwargs)

    wrapped.access = OPERATOR
    return wrapped


def require(permission: str) -> Callable:
    """A member of the URL's organisation whose role grants ``permission`` (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not has_permission(g.org.kind, g.membership.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = TENANT
        wrapped.permission = permission
        return wrapped

    return decorator


def tenant_blueprint(name: str, import_name: str, url_prefix: str, kind: str | None = None) -> Blueprint:
    """A blueprint whose URLs start with ``<url_prefix>/<org>``: load, belong, then the view's permission."""
    bp = Blueprint(name, import_name, url_prefix=f"{url_prefix}/<org>")

    @bp.url_value_preprocessor
    def pull_org(endpoint, values):
        g.org_slug = (values or {}).pop("org", None)

    @bp.url_defaults
    def add_org(endpoint, values):
        if "org" not in values and g.get("org") is not None:
            values["org"] = g.org.slug

    @bp.before_request
    def load_and_check_membership():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        # The signed-in user's memberships come with their organisations (loaded with the user): the URL's
        # organisation is found among them, without reading it again. Not a member: 404, as if it did not exist.
        membership = next((m for m in current_user.memberships if m.organisation.slug == g.org_slug), None)
        if membership is None:
            abort(404)
        org = membership.organisation
        if kind is not None and org.kind != kind:
            abort(404)
        g.org = org
        g.membership = membership
        if (
            session.get("current_org") != org.slug
        ):  # else the cookie would be signed and sent again for nothing
            session["current_org"] = org.slug
        if not current_user.email_confirmed:
            # A self-service sign-up acts only once its address is proven (the link sent by email).
            return render_template("auth/confirm_email.html", user=current_user), 403

    return bp


def get_owned(model, object_id: int, *, column: str = "organisation_id"):
    """Load ``model`` by id only if it belongs to the current organisation; 404 otherwise."""
    obj = db.session.scalar(select(model).where(model.id == object_id, getattr(model, column) == g.org.id))
    if obj is None:
        abort(404)
    return obj


def flash_error(error) -> None:
    flash(error.message, "error")
