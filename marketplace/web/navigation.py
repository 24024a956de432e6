"""Where a person lands: their organisation's dashboard, the switcher, or the operator area."""

from __future__ import annotations

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


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
