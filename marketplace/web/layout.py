"""Parts of the layout kept per process: the organisation's menu depends only on the organisation, the role
and the page, and its links (a dozen ``url_for`` and permission checks) cost more than a list page's rows."""

from __future__ import annotations

from flask import g, render_template, request
from markupsafe import Markup

from marketplace.web.kept import KeptHtml

# Kept a minute: an organisation renamed shows its new name in the menu at once (the name is in the key).
_menus = KeptHtml(seconds=60, size=2000)


def section_nav() -> Markup:
    """The menu of the URL's organisation (``base.html``), for the signed-in member's role."""
    org, membership = g.org, g.membership
    key = (org.id, org.slug, org.name, org.kind, membership.role, request.endpoint)
    return _menus.get(key, lambda: render_template("_section_nav.html"))


def init_app(app) -> None:
    app.add_template_global(section_nav, "section_nav")
