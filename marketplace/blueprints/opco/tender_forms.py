"""Forms of the OPCO's calls for tenders: the builder (lots and criteria as repeated rows), files, answers.

Numbers are text fields on purpose: the service reads French input (« 1 200,50 ») and reports its errors
on these fields (:class:`TenderFormErrors` puts them next to their row). Rows left entirely empty are ignored.
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
from marketplace.models import Tender, TenderDocumentKind
from marketplace.services import tender_inputs
from marketplace.services import tenders as service
from marketplace.services.tender_inputs import MAX_LONG_TEXT
from marketplace.services.tender_pages import BuilderChoices
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
        return all(not (f.data or "").strip() for f in self if f.type in ("StringField",))


class LotRowForm(_Row):
    title = StringField("Intitulé du lot", validators=[Optional(), Length(max=200)])
    # Choices are re-checked by the service (themes, regions, this OPCO's actions), with French messages.
    theme_code = SelectField("Thème", validate_choice=False)
    region_code = SelectField("Périmètre", validate_choice=False)
    expected_sessions = StringField("Sessions prévues", validators=[Optional(), Length(max=12)])
    expected_trainees = StringField("Stagiaires prévus", validators=[Optional(), Length(max=12)])
    max_price = StringField("Prix maximum par stagiaire (€ HT)", validators=[Optional(), Length(max=20)])
    duration_hours = StringField("Durée (heures)", validators=[Optional(), Length(max=12)])
    action_id = SelectField("Action du catalogue", validate_choice=False)

    def is_empty(self) -> bool:
        return all(
            not (f.data or "").strip()
            for f in (
                self.title,
                self.expected_sessions,
                self.expected_trainees,
                self.max_price,
                self.duration_hours,
            )
        )


class CriterionRowForm(_Row):
    label = StringField("Critère", validators=[Optional(), Length(max=200)])
    weight = StringField("Pondération", validators=[Optional(), Length(max=12)])


class TenderForm(Form):
    title = StringField("Intitulé", validators=[DataRequired(REQUIRED), Length(max=200)])
    reference = StringField(
        "Référence",
        description="Unique parmi vos appels d'offres, par exemple AO-2026-03.",
        validators=[DataRequired(REQUIRED), Length(max=40)],
    )
    context = TextAreaField(
        "Contexte et enjeux",
        description="Pourquoi cet appel d'offres, pour quelles branches.",
        validators=[Optional(), Length(max=MAX_LONG_TEXT)],
    )
    specification = TextAreaField(
        "Cahier des charges",
        description="Prestation attendue, public, modalités, engagements du prestataire. Obligatoire pour publier ; "
        "vous pouvez aussi joindre des fichiers depuis la page de l'appel d'offres.",
        validators=[Optional(), Length(max=MAX_LONG_TEXT)],
    )
    questions_deadline = DateTimeLocalField(
        "Date limite des questions",
        format=DATETIME_FORMAT,
        description="Heure de Paris. Obligatoire pour publier.",
        validators=[Optional()],
    )
    submission_deadline = DateTimeLocalField(
        "Date limite de dépôt des réponses",
        format=DATETIME_FORMAT,
        description="Heure de Paris. L'appel d'offres est clos automatiquement à cette heure.",
        validators=[Optional()],
    )
    expected_award_date = DateField(
        "Date d'attribution prévue", description="Après la date limite de dépôt.", validators=[Optional()]
    )
    multi_award = BooleanField(
        "Plusieurs organismes peuvent être retenus par lot (accord-cadre multi-attributaire)"
    )
    required_documents = MultiCheckboxField(
        "Documents exigés dans chaque réponse",
        choices=list(TenderDocumentKind.LABELS.items()),
    )
    lots = FieldList(FormField(LotRowForm), min_entries=LOT_ROWS, max_entries=MAX_ROWS)
    criteria = FieldList(FormField(CriterionRowForm), min_entries=CRITERION_ROWS, max_entries=MAX_ROWS)

    @classmethod
    def build(cls, choices: BuilderChoices, *, lots: int = 0, criteria: int = 0) -> TenderForm:
        """The form with at least ``lots`` / ``criteria`` rows (within the limits) and the selects' choices."""
        form = cls()
        while len(form.lots.entries) < min(lots, MAX_ROWS):
            form.lots.append_entry()
        while len(form.criteria.entries) < min(criteria, MAX_ROWS):
            form.criteria.append_entry()
        for entry in form.lots.entries:
            entry.form.theme_code.choices = list(choices.themes)
            entry.form.region_code.choices = list(choices.regions)
            entry.form.action_id.choices = list(choices.actions)
        return form

    def filled_lots(self) -> list[LotRowForm]:
        return [entry.form for entry in self.lots.entries if not entry.form.is_empty()]

    def filled_criteria(self) -> list[CriterionRowForm]:
        return [entry.form for entry in self.criteria.entries if not entry.form.is_empty()]

    def fill_from(self, tender: Tender) -> None:
        for name in ("title", "reference", "context", "specification", "expected_award_date", "multi_award"):
            self[name].data = getattr(tender, name)
        self.questions_deadline.data = service.utc_to_paris(tender.questions_deadline)
        self.submission_deadline.data = service.utc_to_paris(tender.submission_deadline)
        self.required_documents.data = list(tender.required_documents or [])
        for entry, lot in zip(self.lots.entries, tender.lots, strict=False):
            row = entry.form
            row.title.data = lot.title
            row.theme_code.data = lot.theme_code
            row.region_code.data = lot.region_code or ""
            row.expected_sessions.data = str(lot.expected_sessions)
            row.expected_trainees.data = str(lot.expected_trainees)
            row.max_price.data = _euros_input(lot.max_price_cents)
            row.duration_hours.data = str(lot.duration_hours or "")
            row.action_id.data = str(lot.action_id or "")
        for entry, criterion in zip(self.criteria.entries, tender.criteria, strict=False):
            entry.form.label.data = criterion.label
            entry.form.weight.data = str(criterion.weight)

    def to_input(self) -> tender_inputs.TenderInput:
        return tender_inputs.TenderInput(
            title=self.title.data or "",
            reference=self.reference.data or "",
            context=self.context.data or "",
            specification=self.specification.data or "",
            questions_deadline=self.questions_deadline.data,
            submission_deadline=self.submission_deadline.data,
            expected_award_date=self.expected_award_date.data,
            multi_award=bool(self.multi_award.data),
            required_documents=self.required_documents.data or [],
            lots=[
                tender_inputs.LotInput(
                    title=row.title.data or "",
                    theme_code=row.theme_code.data or "",
                    region_code=row.region_code.data or None,
                    expected_sessions=row.expected_sessions.data,
                    expected_trainees=row.expected_trainees.data,
                    max_price=row.max_price.data,
                    duration_hours=row.duration_hours.data,
                    action_id=row.action_id.data or None,
                )
                for row in self.filled_lots()
            ],
            criteria=[
                tender_inputs.CriterionInput(label=row.label.data or "", weight=row.weight.data)
                for row in self.filled_criteria()
            ],
        )


def _euros_input(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


def weights_typed(form: TenderForm) -> tuple[int | None, int]:
    """(total of the typed weights or None when one is not a whole number, number of weights typed)."""
    typed = [(row.weight.data or "").strip() for row in form.filled_criteria()]
    typed = [w for w in typed if w]
    if not all(w.isdigit() and w.isascii() and len(w) <= 9 for w in typed):
        return None, len(typed)
    return sum(int(w) for w in typed), len(typed)


class _TableMessage:
    """Where a message about a whole table (« lots », « criteria ») or the whole form goes: ``general``."""

    def __init__(self, general: dict[str, str], name: str):
        self._general, self._name = general, name

    @property
    def errors(self) -> list[str]:
        return []

    @errors.setter
    def errors(self, messages: list[str]) -> None:
        self._general[self._name] = " ".join(messages)


class TenderFormErrors:
    """The tender form as ``web.actions.submit`` sees it: the service's messages go next to their field.

    ``services.tender_inputs.InvalidTender`` names a cell ``lots-<i>-<name>``, ``i`` counting the filled rows only;
    here it is found in the form whatever empty rows lie between. Messages about a whole table go to
    ``general`` (shown next to the table). Anything else is the form's own (``validate``, ``is_submitted``).
    """

    def __init__(self, form: TenderForm):
        self.form = form
        self.general: dict[str, str] = {}

    def __getattr__(self, name: str):
        parts = name.split("-")
        rows = {"lots": self.form.filled_lots, "criteria": self.form.filled_criteria}
        if len(parts) == 3 and parts[0] in rows and parts[1].isdigit():
            filled = rows[parts[0]]()
            index = int(parts[1])
            if index < len(filled) and parts[2] in filled[index]:
                return filled[index][parts[2]]
            return _TableMessage(self.general, parts[0])
        if name in ("lots", "criteria"):
            return _TableMessage(self.general, name)
        if name in self.form and not name.startswith("_"):
            return self.form[name]
        return getattr(self.form, name)
