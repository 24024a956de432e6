"""The catalogue search form (GET, no CSRF): every filter is optional and labelled for screen readers."""

from __future__ import annotations

from wtforms import BooleanField, DateField, SearchField, SelectField, StringField, ValidationError
from wtforms.validators import Length, Optional

from marketplace.models import Modality
from marketplace.services.search import DATE_MAX, DATE_MIN, SORTS, parse_hours
from marketplace.web.forms import Form


def _hours(form, field):
    if (field.data or "").strip() and parse_hours(field.data) is None:
        raise ValidationError("Indiquez un nombre d'heures, par exemple 7 ou 3,5.")


def _in_range(form, field):
    if field.data and not DATE_MIN <= field.data <= DATE_MAX:
        raise ValidationError(
            f"Indiquez une date entre le {DATE_MIN:%d/%m/%Y} et le {DATE_MAX:%d/%m/%Y} ; celle-ci n'est pas prise "
            "en compte."
        )


class CatalogueSearchForm(Form):
    class Meta:
        csrf = False  # read-only GET search

    q = SearchField(
        "Rechercher",
        description="Mots de l'intitulé, des objectifs ou du nom de l'organisme de formation (accents facultatifs).",
        validators=[Optional(), Length(max=200, message="200 caractères au plus.")],
    )
    theme = SelectField("Thème", validators=[Optional()], validate_choice=False)
    region = SelectField("Région de la session", validators=[Optional()], validate_choice=False)
    modality = SelectField(
        "Modalité",
        choices=[("", "Toutes les modalités"), *Modality.LABELS.items()],
        validators=[Optional()],
        validate_choice=False,
    )
    date_from = DateField("Début à partir du", validators=[Optional(), _in_range])
    date_to = DateField("Début au plus tard le", validators=[Optional(), _in_range])
    duration_min = StringField("Durée minimale (heures)", validators=[Optional(), _hours])
    duration_max = StringField("Durée maximale (heures)", validators=[Optional(), _hours])
    # Rendered by hand in the template (choices: the organisations referenced by the OPCO).
    provider_id = SelectField(
        "Organisme de formation", choices=[], validators=[Optional()], validate_choice=False
    )
    seats_only = BooleanField("Seulement les sessions avec des places disponibles")
    sort = SelectField(
        "Trier par", choices=list(SORTS.items()), validators=[Optional()], validate_choice=False
    )

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("La date de fin de recherche doit suivre la date de début.")

    def validate_duration_max(self, field):
        low, high = parse_hours(self.duration_min.data), parse_hours(field.data)
        if low is not None and high is not None and high < low:
            raise ValidationError("La durée maximale doit être supérieure ou égale à la durée minimale.")
