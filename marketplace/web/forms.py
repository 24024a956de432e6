"""Form helpers: French messages, identifier validators, and mapping service errors onto fields."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from wtforms import ValidationError

from marketplace.services.errors import DomainError

REQUIRED = "Ce champ est obligatoire."


def identifier(check: Callable) -> Callable:
    """A WTForms validator running one of services.identifiers' checks (same message as the service)."""

    def validator(form, field):
        if field.data in (None, ""):
            return
        try:
            check(field.data)
        except DomainError as error:
            raise ValidationError(error.message) from error

    return validator


def attach_error(form, error: DomainError) -> None:
    """Show a service refusal next to its field when the form has it, else as a message at the top."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        flash(error.message, "error")


def region_choices() -> list[tuple[str, str]]:
    from marketplace.extensions import db
    from marketplace.models import Region

    regions = db.session.scalars(db.select(Region).order_by(Region.name)).all()
    return [("", "— Choisissez —")] + [(r.code, r.name) for r in regions]
