"""Template filters: the French formatting of marketplace.formatting, plus identifiers and labels."""

from __future__ import annotations

from marketplace.formatting import (  # noqa: F401  (re-exported for older imports)
    NNBSP,
    PARIS,
    date_fr,
    datetime_fr,
    money_fr,
    number_fr,
    to_paris,
)


def init_app(app) -> None:
    from marketplace.services import identifiers
    from marketplace.services.audit import action_label, describe
    from marketplace.services.certificates import hours_fr

    app.add_template_filter(date_fr, "date_fr")
    app.add_template_filter(datetime_fr, "datetime_fr")
    app.add_template_filter(money_fr, "money")
    app.add_template_filter(number_fr, "number_fr")
    app.add_template_filter(identifiers.format_siret, "siret")
    app.add_template_filter(identifiers.format_nda, "nda")
    app.add_template_filter(identifiers.size_band_label, "size_band_label")
    app.add_template_filter(action_label, "action_label")
    app.add_template_filter(describe, "audit_details")
    app.add_template_filter(hours_fr, "minutes_as_hours")
