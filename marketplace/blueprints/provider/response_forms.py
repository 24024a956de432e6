"""Forms of a training organisation's response to a lot: the response itself and its documents."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.models import TenderDocumentKind
from marketplace.services.tender_responses import MAX_TEXT, ResponseInput
from marketplace.web.forms import Form

ACCEPTED_FILES = ".pdf,.docx,.xlsx,.odt"


class ResponseForm(Form):
    """Everything is optional while it is a draft; the service says what is missing at submission."""

    price_per_trainee = StringField(
        "Prix par stagiaire (€ HT)",
        description="Par exemple 1 150,00. Il ne peut pas dépasser le prix maximum du lot.",
        validators=[Length(max=30)],
    )
    price_per_group = StringField(
        "Prix par groupe (€ HT, facultatif)",
        description="Si vous proposez aussi un prix forfaitaire pour un groupe.",
        validators=[Length(max=30)],
    )
    duration_hours = StringField(
        "Durée proposée (heures)",
        description="Nombre entier d'heures, par exemple 14.",
        validators=[Length(max=10)],
    )
    programme = TextAreaField(
        "Programme proposé",
        description="Objectifs, contenu par séquence, modalités pédagogiques et d'évaluation.",
        validators=[Length(max=MAX_TEXT)],
        render_kw={"rows": 8},
    )
    team = TextAreaField(
        "Équipe pédagogique et moyens",
        description="Formateurs, qualifications, moyens matériels, couverture géographique.",
        validators=[Length(max=MAX_TEXT)],
        render_kw={"rows": 5},
    )

    def fill_from(self, response) -> None:
        def euros(cents: int | None) -> str:  # « 1 150,00 », as a person types it
            return "" if cents is None else f"{cents // 100:,}".replace(",", " ") + f",{cents % 100:02d}"

        self.price_per_trainee.data = euros(response.price_per_trainee_cents)
        self.price_per_group.data = euros(response.price_per_group_cents)
        self.duration_hours.data = "" if response.duration_hours is None else str(response.duration_hours)
        self.programme.data = response.programme or ""
        self.team.data = response.team or ""

    def to_input(self) -> ResponseInput:
        return ResponseInput(
            price_per_trainee=self.price_per_trainee.data,
            price_per_group=self.price_per_group.data,
            duration_hours=self.duration_hours.data,
            programme=self.programme.data,
            team=self.team.data,
        )


class DocumentForm(Form):
    kind = SelectField("Type de document", validators=[InputRequired("Choisissez le type de document.")])
    file = FileField(
        "Fichier (PDF, DOCX, XLSX ou ODT)",
        validators=[FileRequired("Choisissez le fichier à joindre.")],
        render_kw={"accept": ACCEPTED_FILES},
    )

    def set_kinds(self, required: list[str]) -> None:
        """Required documents first, then the others."""
        ordered = [k for k in required if k in TenderDocumentKind.LABELS]
        ordered += [k for k in TenderDocumentKind.LABELS if k not in ordered]
        self.kind.choices = [
            (k, TenderDocumentKind.LABELS[k] + (" (exigé)" if k in required else "")) for k in ordered
        ]
