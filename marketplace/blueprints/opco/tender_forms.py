"""Forms of the OPCO's calls for tenders: the builder (lots and criteria as repeated rows), files, answers.

Numbers are text fields on purpose: the service reads French input (« 1 200,50 ») and reports its errors
on these fields. Rows left entirely empty are ignored.
"""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from marketplace.blueprints.auth.forms import MultiCheckboxField
from marketplace.models import TenderDocumentKind
from marketplace.web.forms import REQUIRED, Form

LOT_ROWS = 6
CRITERION_ROWS = 6
MAX_ROWS = 30
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_MESSAGE = "Indiquez une date et une heure valides."


class _Row(Form):
    class Meta:
        csrf = False  # part of the tender form, which carries the token

    def is_empty(self) -> bool:
        """Nothing typed in the row's text inputs (selects have defaults and do not count)."""
        return all(
            not (f.data or "").strip() for f in self if f.type in ("StringField",)
        )


class LotRowForm(_Row):
    title = StringField("Intitulé du lot", validators=[Optional(), Length(max=200)])
    # Choices are re-checked by the service (themes, regions, this OPCO's actions), with French messages.
    theme_code = SelectField("Thème", validate_choice=False)
    region_code = SelectField("Périmètre", validate_choice=False)
    expected_sessions = StringField("Sessions prévues", validators=[Optional()])
    expected_trainees = StringField("Stagiaires prévus", validators=[Optional()])
    max_price = StringField("Prix maximum par stagiaire (€ HT)", validators=[Optional()])
    duration_hours = StringField("Durée (heures)", validators=[Optional()])
    action_id = SelectField("Action du catalogue", validate_choice=False)

    def is_empty(self) -> bool:
        return all(
            not (f.data or "").strip()
            for f in (self.title, self.expected_sessions, self.expected_trainees, self.max_price, self.duration_hours)
        )


class CriterionRowForm(_Row):
    label = StringField("Critère", validators=[Optional(), Length(max=200)])
    weight = StringField("Pondération", validators=[Optional()])


class TenderForm(Form):
    title = StringField("Intitulé", validators=[DataRequired(REQUIRED), Length(max=200)])
    reference = StringField(
        "Référence",
        description="Unique parmi vos appels d'offres, par exemple AO-2026-03.",
        validators=[DataRequired(REQUIRED), Length(max=40)],
    )
    context = TextAreaField(
        "Contexte et enjeux", description="Pourquoi cet appel d'offres, pour quelles branches.",
        validators=[Optional()],
    )
    specification = TextAreaField(
        "Cahier des charges",
        description="Prestation attendue, public, modalités, engagements du prestataire. Obligatoire pour publier ; "
        "vous pouvez aussi joindre des fichiers depuis la page de l'appel d'offres.",
        validators=[Optional()],
    )
    questions_deadline = DateTimeLocalField(
        "Date limite des questions", format=DATETIME_FORMAT,
        description="Heure de Paris. Obligatoire pour publier.", validators=[Optional()],
    )
    submission_deadline = DateTimeLocalField(
        "Date limite de dépôt des réponses", format=DATETIME_FORMAT,
        description="Heure de Paris. L'appel d'offres est clos automatiquement à cette heure.",
        validators=[Optional()],
    )
    expected_award_date = DateField(
        "Date d'attribution prévue", description="Après la date limite de dépôt.", validators=[Optional()]
    )
    multi_award = BooleanField("Plusieurs organismes peuvent être retenus par lot (accord-cadre multi-attributaire)")
    required_documents = MultiCheckboxField(
        "Documents exigés dans chaque réponse",
        choices=list(TenderDocumentKind.LABELS.items()),
    )
    lots = FieldList(FormField(LotRowForm), min_entries=LOT_ROWS, max_entries=MAX_ROWS)
    criteria = FieldList(FormField(CriterionRowForm), min_entries=CRITERION_ROWS, max_entries=MAX_ROWS)
