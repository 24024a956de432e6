"""Form of the OPCO's control of service fait."""

from __future__ import annotations

from wtforms import TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length

from marketplace.models.limits import REASON
from marketplace.services.text import has_control
from marketplace.web.forms import Form


def _plain(form, field) -> None:
    if has_control(field.data):
        raise ValidationError("Ce texte contient des caractères non autorisés.")


class CorrectionForm(Form):
    reason = TextAreaField(
        "Motif de la demande de correction",
        description="Il est transmis à l'organisme de formation (heures, absences, pièces manquantes…).",
        validators=[DataRequired("Indiquez le motif de la correction."), Length(max=REASON), _plain],
    )
