"""Form helpers: the base form (bounded texts), French messages, identifier validators, service errors on fields."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict
from wtforms import EmailField, PasswordField, StringField, TextAreaField, ValidationError
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

from marketplace.models import limits
from marketplace.services.errors import DomainError

REQUIRED = "Ce champ est obligatoire."


class MaxLength(Length):
    """``Length(max=…)`` with the French message; renders ``maxlength`` on the input (WTForms field flag)."""

    def __init__(self, max: int, min: int = -1, message: str | None = None):
        super().__init__(min=min, max=max, message=message or limits.too_long(max))

    def __call__(self, form, field):
        length = len(field.data) if isinstance(field.data, str) else 0
        if length > self.max or (self.min != -1 and length < self.min):
            raise ValidationError(self.message)


def unix_newlines(value):
    """A browser's ``maxlength`` counts a line break as one character, then sends CR LF: keep LF only, so
    that the text the browser accepted fits the same bound on the server and in its column."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def default_length(field_class: type) -> int:
    """The bound of a text field that declares none (see ``models/limits.py``)."""
    if issubclass(field_class, TextAreaField):
        return limits.LONG_TEXT
    if issubclass(field_class, EmailField):
        return limits.EMAIL
    if issubclass(field_class, PasswordField):
        return limits.PASSWORD
    return limits.TITLE


def bounded(unbound: UnboundField) -> UnboundField:
    """The same field with a maximum length: the declared ``Length`` in French, else the default one."""
    cached = unbound.__dict__.get("_bounded")
    if cached is not None:
        return cached
    result = unbound
    if issubclass(unbound.field_class, StringField):
        args = list(unbound.args)
        kwargs = dict(unbound.kwargs)
        validators = list(args[1] or []) if len(args) > 1 else list(kwargs.get("validators") or [])
        lengths = [v for v in validators if isinstance(v, Length) and v.max != -1]
        if not lengths:
            validators.append(MaxLength(default_length(unbound.field_class)))
        else:
            validators = [MaxLength(v.max, v.min, v.message) if type(v) is Length else v for v in validators]
        if len(args) > 1:
            args[1] = validators
        else:
            kwargs["validators"] = validators
        if issubclass(unbound.field_class, TextAreaField) and len(args) < 3:
            kwargs["filters"] = (unix_newlines, *kwargs.get("filters", ()))
        result = UnboundField(unbound.field_class, *args, name=unbound.name, **kwargs)
        result.creation_counter = unbound.creation_counter
    unbound._bounded = result
    return result


class Form(FlaskForm):
    """Base of every form of the application: each text field (``StringField`` and its kinds: text areas,
    e-mail, password, search, phone) has a maximum length, the one it declares or the default of its kind
    (``models/limits.py``), shown as ``maxlength`` and refused with « N caractères au maximum. ».

    Forms are read from the posted HTML fields only: never a JSON body (whose values may be numbers, lists or
    objects), and files only for a form that has a file field. A file or an object sent in place of a text
    field thus leaves it empty, and its validators refuse it in French instead of failing on a foreign type.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            return super().bind_field(form, bounded(unbound_field), options)

        def wrap_formdata(self, form, formdata):
            if formdata is None or hasattr(
                formdata, "getlist"
            ):  # given explicitly by the caller (e.g. GET args)
                return super().wrap_formdata(form, formdata)
            if not form.is_submitted():
                return None
            if any(isinstance(field, FileField) for field in form):
                return CombinedMultiDict((request.files, request.form))
            return request.form


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
    from marketplace.services import reference_lists

    return [("", "— Choisissez —")] + [(r.code, r.name) for r in reference_lists.regions()]
