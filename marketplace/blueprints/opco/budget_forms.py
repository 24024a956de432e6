"""Forms of the OPCO's budget envelopes (the service checks every value and reports on these fields)."""

from __future__ import annotations

from wtforms import SelectField, StringField

from marketplace.models import Fund, WhenExhausted
from marketplace.models.limits import TITLE
from marketplace.web.forms import Form


class EnvelopeForm(Form):
    label = StringField("Libellé de l'enveloppe", render_kw={"maxlength": TITLE})
    year = StringField("Année", description="Par exemple 2026.")
    fund = SelectField("Fonds", choices=[("", "Choisissez…"), *Fund.LABELS.items()], validate_choice=False)
    idcc = StringField("Branche (IDCC, facultatif)", description="Quatre chiffres, par exemple 1486.")
    region_code = SelectField(
        "Région (facultatif)", choices=[("", "Toutes les régions")], validate_choice=False
    )
    allotted = StringField("Montant alloué (en euros)", description="Par exemple 250 000,00.")
    thresholds = StringField(
        "Seuils d'alerte (en % du montant alloué)",
        description="Séparés par des virgules, par exemple 80, 90, 100. Un courriel est envoyé une fois par seuil.",
    )
    when_exhausted = SelectField(
        "Quand l'enveloppe est épuisée", choices=list(WhenExhausted.LABELS.items()), validate_choice=False
    )


class AttachForm(Form):
    action_id = SelectField("Action collective", choices=[], validate_choice=False)
