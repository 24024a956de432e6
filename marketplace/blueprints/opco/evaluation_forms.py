"""Forms of the evaluation pages (admissibility, declaration, award) and of the referencing registry.

Score sheets have one row per criterion of the tender: they are read from ``request.form`` by
``score_rows`` (fields ``score_<criterion id>`` and ``justification_<criterion id>``), the service checks them.
"""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace.models import TenderCriterion
from marketplace.services.evaluation import MAX_REASON
from marketplace.services.evaluation_scores import justification_field, score_field
from marketplace.web.forms import Form
from marketplace.web.params import parse_int

DATE_MESSAGE = "Indiquez une date valide (jj/mm/aaaa)."


class AdmissibilityForm(Form):
    reason = TextAreaField(
        "Motif d'irrecevabilité",
        description="Obligatoire pour déclarer la réponse irrecevable.",
        validators=[Optional(), Length(max=MAX_REASON)],
    )


class DeclarationForm(Form):
    accept = BooleanField("Je certifie sur l'honneur l'exactitude de cette déclaration.")


class AwardForm(Form):
    valid_from = DateField(
        "Début des référencements", validators=[InputRequired(DATE_MESSAGE)], format="%Y-%m-%d"
    )
    valid_until = DateField(
        "Fin des référencements", validators=[InputRequired(DATE_MESSAGE)], format="%Y-%m-%d"
    )


class ReferencingChangeForm(Form):
    reason = StringField("Motif", validators=[Optional(), Length(max=300)])


def checklist_from(form: MultiDict, codes) -> dict[str, bool]:
    """The manual checklist as ticked (``check_<code>`` present)."""
    return {code: form.get(f"check_{code}") in ("y", "on", "1", "true") for code in codes}


def score_rows(form: MultiDict, criteria: list[TenderCriterion]) -> dict[int, tuple[str, str]]:
    """``{criterion id: (note as typed, justification)}`` from a score sheet form."""
    return {
        c.id: (form.get(score_field(c.id), ""), form.get(justification_field(c.id), "")) for c in criteria
    }


def winners_from(form: MultiDict, lot_ids: list[int]) -> dict[int, list[int]]:
    """``{lot id: [response ids]}`` from the award form (``lot_<id>`` radio or checkboxes; « 0 » = none)."""
    winners: dict[int, list[int]] = {}
    for lot_id in lot_ids:
        values = [parse_int(v, minimum=0) for v in form.getlist(f"lot_{lot_id}")]
        # An unreadable id stays in the choice as -1: the service refuses it (« n'appartient pas à ce lot »).
        winners[lot_id] = [-1 if v is None else v for v in values if v != 0]
    return winners


class ScoreSheetErrors:
    """Where ``web.actions`` puts a refused sheet's messages: those of its cells are kept here (the page shows
    them in the sheet, with a summary), any other is shown at the top."""

    class _Cell:
        def __init__(self, errors: dict[str, str], name: str):
            self._errors, self._name = errors, name

        @property
        def errors(self) -> list[str]:
            return []

        @errors.setter
        def errors(self, messages: list[str]) -> None:
            self._errors[self._name] = " ".join(messages)

    def __init__(self):
        self.errors: dict[str, str] = {}

    def __getattr__(self, name: str):
        if name.startswith(("score_", "justification_")):
            return self._Cell(self.errors, name)
        raise AttributeError(name)
