"""Template filters: the French formatting of marketplace.formatting, plus identifiers and labels."""

from __future__ import annotations

from markupsafe import Markup

from marketplace.formatting import (  # noqa: F401  (re-exported for older imports)
    NNBSP,
    PARIS,
    date_fr,
    dates_fr,
    datetime_fr,
    elide,
    money_fr,
    number_fr,
    of_name,
    plural,
    session_dates,
    sorted_fr,
    to_paris,
)


def _attr(item, name: str):
    return item[name] if isinstance(item, dict) else getattr(item, name)


def init_app(app) -> None:
    from marketplace.models import PaymentMeans
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
    # Wording helpers: « le 11/01/2027 » / « du … au … », « 7 confirmées », « fiche d'Inès », French order.
    app.add_template_filter(dates_fr, "dates_fr")
    app.add_template_filter(session_dates, "session_dates")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(of_name, "de")
    app.add_template_filter(elide, "elide")
    app.add_template_global(status_badge, "status_badge")
    app.add_template_filter(
        lambda means: PaymentMeans.LABELS.get(means or "", "virement bancaire"), "payment_means"
    )
    app.add_template_filter(
        lambda items, attribute=None: sorted_fr(
            items, (lambda item: _attr(item, attribute)) if attribute else None
        ),
        "sort_fr",
    )


# Colour of a status badge (always with its text: colour alone says nothing to some readers).
STATUS_TONES = {
    "Enrolment": {
        "confirmed": "ok",
        "pending_approval": "info",
        "waitlisted": "warning",
        "offered": "warning",
        "refused": "error",
        "cancelled": "neutral",
        "offer_declined": "neutral",
        "offer_expired": "neutral",
        "session_cancelled": "error",
        "waitlist_closed": "neutral",
        "convoked": "ok",
        "in_training": "info",
        "attended": "ok",
        "partially_attended": "warning",
        "absent_excused": "neutral",
        "absent": "error",
        "abandoned": "warning",
        "closed": "neutral",
    },
    "TrainingSession": {
        "draft": "neutral",
        "open": "ok",
        "registrations_closed": "info",
        "confirmed": "ok",
        "in_progress": "info",
        "completed": "neutral",
        "postponed": "warning",
        "cancelled": "error",
        "delivered": "ok",
    },
    "ExportJob": {"queued": "info", "running": "info", "done": "ok", "failed": "error", "expired": "neutral"},
    "Invoice": {
        "draft": "neutral",
        "issued": "info",
        "in_control": "info",
        "info_requested": "warning",
        "validated": "ok",
        "payment_pending": "warning",
        "paid": "ok",
        "rejected": "error",
        "cancelled": "neutral",
    },
    "Complaint": {"received": "warning", "analysed": "info", "answered": "ok", "closed": "neutral"},
}


def status_badge(obj) -> Markup:
    """An object's state as a badge: colour plus its French label (enrolments and sessions)."""
    tone = STATUS_TONES.get(type(obj).__name__, {}).get(obj.status, "neutral")
    return Markup('<span class="badge badge-{}">{}</span>').format(tone, obj.status_label)
