"""Where a person lands: their organisation's dashboard, the switcher, or the operator area."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import session, url_for

from marketplace.models import Organisation, User

DASHBOARDS = {"opco": "opco.dashboard", "company": "company.dashboard", "provider": "provider.dashboard"}


def dashboard_url(org: Organisation) -> str:
    return url_for(DASHBOARDS[org.kind], org=org.slug)


def home_url_for(user: User) -> str:
    """Last organisation used, the only one, the switcher when several, or the operator area."""
    orgs = [m.organisation for m in user.memberships]
    last = session.get("current_org")
    for org in orgs:
        if org.slug == last:
            return dashboard_url(org)
    if len(orgs) == 1:
        return dashboard_url(orgs[0])
    if orgs:
        return url_for("auth.switch")
    if user.is_operator:
        return url_for("admin.dashboard")
    return url_for("auth.signup")


def _suspicious(text: str) -> bool:
    """Control characters (browsers drop tabs and newlines anywhere, so "/\t/x" becomes "//x") or backslashes
    (read as "/" by browsers)."""
    return any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in text)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site is followed after sign-in (no open redirect): no scheme, no host, nothing a
    browser would normalise into another site, checked on the value and on its percent-decoded form."""
    if not target or len(target) > 2000:
        return None
    decoded = unquote(target)
    if _suspicious(target) or _suspicious(decoded):
        return None
    for candidate in (target, decoded):
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return target
