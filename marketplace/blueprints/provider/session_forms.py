"""Forms of the training organisation's sessions: the session itself, its half-days, postpone, cancel, filters."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.formatting import date_fr
from marketplace.models import HalfDay, SessionStatus
from marketplace.services.session_input import SessionInput, SlotInput
from marketplace.services.session_pages import PERIODS
from marketplace.services.text import UNSAFE_MESSAGE, has_control
from marketplace.web.forms import REQUIRED, Form
from marketplace.web.params import DATE_MAX, DATE_MIN

SLOT_ROWS = 10
MAX_SLOT_ROWS = 60
MAX_CAPACITY = 1000


def plain_text(form, field) -> None:
    """No NUL or other control character in a typed text (the database refuses NUL; none is ever meant)."""
    if has_control(field.data):
        raise ValidationError(UNSAFE_MESSAGE)


def plausible_date(form, field) -> None:
    """A date a session can have: between 2000 and 2100 (0001-01-01 or 9999-12-31 are typing slips)."""
    if field.data is not None and not DATE_MIN <= field.data <= DATE_MAX:
        raise ValidationError(f"Indiquez une date entre le {date_fr(DATE_MIN)} et le {date_fr(DATE_MAX)}.")


def capacity(label: str, description: str) -> IntegerField:
    return IntegerField(
        label,
        description=description,
        validators=[
            InputRequired(REQUIRED),
            NumberRange(min=1, max=MAX_CAPACITY, message=f"Entre 1 et {MAX_CAPACITY} stagiaires."),
        ],
    )


class OfferedChoice(SelectField):
    """A select whose posted value must be one of the choices offered (e.g. this organisation's referencings);
    anything else — another organisation's id, a huge number, text — is refused with ``message``."""

    def __init__(self, *args, message: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None  # not even a number: pre_validate says why

    def pre_validate(self, form):
        if not self.raw_data or not self.raw_data[0]:
            return  # nothing chosen: the « required » validator says so
        if self.data not in {value for value, _label in (self.choices or [])}:
            raise ValidationError(self.message)


class SlotForm(Form):
    """One row of the half-days table; a row left entirely empty is ignored."""

    class Meta:
        csrf = False  # part of the session form, which carries the token

    day = DateField("Jour", validators=[Optional(), plausible_date])
    half_day = SelectField("Demi-journée", choices=list(HalfDay.LABELS.items()), default=HalfDay.MORNING)
    start_time = TimeField("Début", validators=[Optional()])
    end_time = TimeField("Fin", validators=[Optional()])

    def is_empty(self) -> bool:
        """Nothing typed in the day and times (an unreadable value counts as typed)."""
        fields = (self.day, self.start_time, self.end_time)
        return all(f.data is None and not any((v or "").strip() for v in (f.raw_data or [])) for f in fields)


def slots_field() -> FieldList:
    return FieldList(FormField(SlotForm), min_entries=SLOT_ROWS, max_entries=MAX_SLOT_ROWS)


class SlotsMixin:
    """Half-day rows; each form declares its own ``slots = slots_field()`` so that it keeps its place in the
    form's field order (error summaries list fields in that order)."""

    def ensure_rows(self, wanted: int) -> None:
        """Show at least ``wanted`` rows (existing half-days plus empty ones to fill)."""
        wanted = min(max(wanted, SLOT_ROWS), MAX_SLOT_ROWS)
        while len(self.slots.entries) < wanted:
            self.slots.append_entry()

    def slot_inputs(self) -> list[SlotInput]:
        return [
            SlotInput(
                row.form.day.data, row.form.half_day.data, row.form.start_time.data, row.form.end_time.data
            )
            for row in self.slots.entries
            if not row.form.is_empty()
        ]


class SessionForm(SlotsMixin, Form):
    referencing_id = OfferedChoice(
        "Action collective",
        coerce=int,
        message="Choisissez une action pour laquelle vous êtes référencé.",
        description="Seules les actions publiées pour lesquelles vous êtes référencé sont proposées.",
        validators=[InputRequired("Choisissez l'action de la session.")],
    )
    slots = slots_field()
    is_remote = BooleanField("Session à distance (classe virtuelle)")
    connection_url = StringField(
        "Lien de connexion (classe virtuelle)",
        description="Pour une session à distance : il figure sur la convocation, obligatoire avant son envoi.",
        validators=[Optional(), Length(max=500), plain_text],
    )
    address = StringField(
        "Adresse du lieu de formation", validators=[Optional(), Length(max=300), plain_text]
    )
    postal_code = StringField("Code postal", validators=[Optional(), Length(max=5), plain_text])
    city = StringField("Commune", validators=[Optional(), Length(max=120), plain_text])
    region_code = SelectField(
        "Région",
        description="Déduite du code postal : vous pouvez la laisser vide.",
        validators=[Optional()],
    )
    capacity_min = capacity(
        "Nombre minimum de stagiaires", "En dessous, la session ne peut pas être confirmée."
    )
    capacity_max = capacity(
        "Nombre maximum de stagiaires", "Au-delà, les inscriptions vont en liste d'attente."
    )
    registration_deadline = DateField(
        "Date limite d'inscription",
        description="Au plus tard le premier jour de la session.",
        validators=[InputRequired(REQUIRED), plausible_date],
    )
    trainer_names = StringField(
        "Formateur(s)",
        description="Noms séparés par des virgules.",
        validators=[Optional(), Length(max=300), plain_text],
    )
    contact_name = StringField(
        "Personne à contacter",
        validators=[DataRequired(REQUIRED), Length(max=200), plain_text],
        description="Chargée des relations avec les stagiaires (article L6353-8 du Code du travail).",
    )
    contact_email = EmailField(
        "E-mail de contact", validators=[DataRequired(REQUIRED), Length(max=254), plain_text]
    )
    contact_phone = TelField("Téléphone de contact", validators=[Optional(), Length(max=30), plain_text])
    notes = TextAreaField(
        "Informations pratiques",
        description="Accès, restauration, matériel à apporter… Elles figurent dans les courriels aux stagiaires.",
        validators=[Optional(), Length(max=5000), plain_text],
    )

    def to_input(self, referencing_id: int | None = None) -> SessionInput:
        return SessionInput(
            referencing_id=referencing_id if referencing_id is not None else self.referencing_id.data,
            slots=self.slot_inputs(),
            registration_deadline=self.registration_deadline.data,
            capacity_min=self.capacity_min.data,
            capacity_max=self.capacity_max.data,
            is_remote=bool(self.is_remote.data),
            address=self.address.data or "",
            postal_code=self.postal_code.data or "",
            city=self.city.data or "",
            region_code=self.region_code.data or None,
            trainer_names=self.trainer_names.data or "",
            contact_name=self.contact_name.data or "",
            contact_email=self.contact_email.data or "",
            contact_phone=self.contact_phone.data or "",
            notes=self.notes.data or "",
            connection_url=self.connection_url.data or "",
        )


class PostponeForm(SlotsMixin, Form):
    slots = slots_field()
    reason = TextAreaField(
        "Motif du report",
        description="Facultatif ; il est transmis aux entreprises et aux stagiaires.",
        validators=[Optional(), Length(max=500), plain_text],
    )


class CancelForm(Form):
    reason = TextAreaField(
        "Motif de l'annulation",
        description="Il est transmis aux entreprises et aux stagiaires.",
        validators=[DataRequired("Indiquez le motif de l'annulation."), Length(max=500), plain_text],
    )


class SessionFilterForm(Form):
    class Meta:
        csrf = False  # read-only GET filters

    status = SelectField(
        "État", choices=[("", "Tous les états"), *SessionStatus.LABELS.items()], validators=[Optional()]
    )
    period = SelectField(
        "Période", choices=list(PERIODS.items()), default="upcoming", validators=[Optional()]
    )
